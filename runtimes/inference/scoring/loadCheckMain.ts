// `node loadCheckMain.ts '<ModelSpec JSON>'` < model.onnx: prints one LoadCheckResult as JSON.
// The process the operator spawns to check an artifact (see loadCheck.ts).
import { buffer } from 'node:stream/consumers';
import { checkLoad } from './loadCheck.ts';
import type { ModelSpec } from '../../../contracts/loadCheck.ts';

const spec = JSON.parse(process.argv[2] ?? '') as ModelSpec;
const bytes = new Uint8Array(await buffer(process.stdin));
const result = await checkLoad(bytes, spec);
// ONNX Runtime's thread pools may outlive the session: leave once the answer is out.
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
