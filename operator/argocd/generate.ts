/** Writes deploy/argocd/argocd-cm.yaml and its copy in docs/argocd.md from the Lua scripts. */
import { readFileSync, writeFileSync } from 'node:fs';
import { argocdCm, ARGOCD_CM_FILE, docsWithSnippet, DOCS_FILE } from './argocdCm.ts';
import { customizations } from './customizations.ts';

const snippet = argocdCm(customizations());
writeFileSync(ARGOCD_CM_FILE, snippet);
writeFileSync(DOCS_FILE, docsWithSnippet(readFileSync(DOCS_FILE, 'utf8'), snippet));
console.log(`wrote ${ARGOCD_CM_FILE} and the snippet in ${DOCS_FILE}`);
