// docs/troubleshooting.md explains every reason the controllers write: condition reasons and Event
// reasons. Reasons are found in the source with the TypeScript parser (not a regex over lines), as
// the string literals given to a `reason` property (also through `a ? 'X' : 'Y'`) and the values of
// the *_REASONS lookup tables that map failures to reasons.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const controllers = new URL('.', import.meta.url).pathname;
const page = readFileSync(new URL('../../docs/troubleshooting.md', import.meta.url), 'utf8');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .filter((e) => !e.parentPath.includes('testdata'))
    .map((e) => join(e.parentPath, e.name));
}

/** The string literals an expression can evaluate to, through conditionals. */
function literals(node: ts.Expression): string[] {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [node.text];
  if (ts.isConditionalExpression(node)) return [...literals(node.whenTrue), ...literals(node.whenFalse)];
  if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node)) return literals(node.expression);
  return [];
}

function reasonsIn(file: string, text: string): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAssignment(node) && node.name.getText() === 'reason')
      found.push(...literals(node.initializer));
    // `{ ... } as const` too.
    const table =
      ts.isVariableDeclaration(node) && node.initializer && ts.isAsExpression(node.initializer)
        ? node.initializer.expression
        : ts.isVariableDeclaration(node)
          ? node.initializer
          : undefined;
    if (
      ts.isVariableDeclaration(node) &&
      /REASONS$/.test(node.name.getText()) &&
      table &&
      ts.isObjectLiteralExpression(table)
    ) {
      for (const p of table.properties)
        if (ts.isPropertyAssignment(p)) found.push(...literals(p.initializer));
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true));
  // Reasons are CamelCase (API conventions); anything else given to `reason` is not one.
  return found.filter((r) => /^[A-Z][A-Za-z]+$/.test(r));
}

const codeReasons = [
  ...new Set(sources(controllers).flatMap((f) => reasonsIn(f, readFileSync(f, 'utf8')))),
].sort();
/** The first cell of each table row, when it is a `Reason`. */
const pageReasons = [...page.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map(([, r]) => r!).sort();

describe('docs/troubleshooting.md', () => {
  it('finds reasons through properties, conditionals and lookup tables, and nothing else', () => {
    const sample = `
      const READ_REASONS = { not_found: 'ArtifactNotFound', timeout: 'ArtifactFetchTimeout' };
      const a = { type: 'Ready', status: 'True', reason: ok ? 'StreamsReady' : other.reason };
      const b = { reason: 'crashed' in x ? 'ArtifactCheckFailed' : LOAD[x] };
      const c = { reason: 'lowercase', message: 'NotAReason' };`;
    expect(reasonsIn('sample.ts', sample).sort()).toEqual([
      'ArtifactCheckFailed',
      'ArtifactFetchTimeout',
      'ArtifactNotFound',
      'StreamsReady',
    ]);
  });

  it('the controllers write reasons of both kinds (the scan sees them)', () => {
    expect(codeReasons).toEqual(
      expect.arrayContaining([
        'StreamsEnsured',
        'ReadingsStopped',
        'FallbackOnly',
        'ArtifactTooLarge',
        'AutoscalingClamped',
      ]),
    );
  });

  it('explains every reason the controllers write', () => {
    expect(codeReasons.filter((r) => !pageReasons.includes(r))).toEqual([]);
  });

  it('lists no reason the controllers no longer write, and each once', () => {
    expect(pageReasons.filter((r) => !codeReasons.includes(r))).toEqual([]);
    expect(pageReasons).toEqual([...new Set(pageReasons)].sort());
  });
});
