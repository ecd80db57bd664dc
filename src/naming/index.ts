/**
 * S3 keys for Glacier archives. Naming one archive is a pure function (nameArchive: override, else the path the
 * description names, else a fallback key; always made safe and at most 1,024 bytes). Making keys unique is a
 * second step over all candidates (resolveKeyCollisions, or resolveCollisionGroup over groups kept elsewhere).
 */
export { candidateGroup, resolveCollisionGroup, resolveKeyCollisions } from './collisions.js';
export type { CandidateGroup, FinalKey, KeyCandidate } from './collisions.js';
export { decodeDescription, decodeUtf7, parseCompactTime } from './decode.js';
export type { DecodedDescription, DescriptionFormat } from './decode.js';
export {
  MAX_KEY_BYTES,
  MAX_PREFIX_BYTES,
  UNNAMED_ARCHIVES_FOLDER,
  fitKey,
  normalizePrefix,
  safePath,
  utf8Length,
} from './key.js';
export { nameArchive } from './name.js';
export type { ArchiveName, ArchiveToName, NamingOptions } from './name.js';
export { NamingOverridesError, readNamingOverrides, unknownOverrides } from './overrides.js';
export type { NamingOverride, NamingOverrides, OverrideProblem } from './overrides.js';
export { createNamer, loadOverrides } from './namer.js';
export type { ArchiveNamer, NamingConfig } from './namer.js';
