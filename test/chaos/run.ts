/**
 * `npm run chaos [-- --seed N] [--archives N] [--kills N]`: the chaos run by hand. Without --seed a random
 * seed is drawn and printed, so that any run can be replayed.
 */
import { parseArgs } from 'node:util';
import { chaosLine, runChaos } from './chaos.js';

const { values } = parseArgs({
  options: { seed: { type: 'string' }, archives: { type: 'string', default: '600' }, kills: { type: 'string', default: '40' } },
});
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
console.log(`chaos: seed ${seed} (replay with: npm run chaos -- --seed ${seed} --archives ${values.archives} --kills ${values.kills})`);
const figures = await runChaos({ seed, archives: Number(values.archives), kills: Number(values.kills), maxRunMs: 3000, log: console.log });
console.log(`chaos: faults survived per kind: ${JSON.stringify(figures.faultsByKind)}`);
console.log(`chaos: ${figures.runs} runs, last exit ${figures.lastExit}, ${figures.extra} extra objects, state integrity ${figures.integrity}`);
console.log(chaosLine(figures));
const ok =
  figures.lastExit === 0 &&
  figures.verified === figures.archives &&
  figures.lost + figures.duplicated + figures.corrupt + figures.leaked + figures.extra === 0 &&
  figures.integrity === 'ok';
process.exit(ok ? 0 : 1);
