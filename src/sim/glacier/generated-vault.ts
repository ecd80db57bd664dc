import { GeneratedContent, GeneratedPattern } from './archives.js';
import type { Archive, ArchiveRange } from './catalog.js';
import { ArchiveGenerator, ArchiveIds, type GeneratedArchiveSpec, type LazyVaultSpec } from './generate.js';

/** Archive i of a generated vault, from its seed and a spec: the id, and bytes produced on the fly. */
export class GeneratedArchives {
  readonly ids: ArchiveIds;
  private readonly pattern: GeneratedPattern;

  constructor(
    private readonly seed: string | number,
    /** for specs that name none */
    private readonly defaultCreationDate: string,
  ) {
    this.ids = new ArchiveIds(seed);
    this.pattern = new GeneratedPattern(String(seed));
  }

  archive(index: number, spec: GeneratedArchiveSpec): Archive {
    return {
      id: this.ids.id(index),
      description: spec.description,
      creationDate: spec.creationDate ?? this.defaultCreationDate,
      content: new GeneratedContent(this.pattern, `${this.seed}:${index}`, spec.size),
    };
  }
}

/** The largest lazy vault: archive indexes seed their PRNG with 32 bits. */
const MAX_LAZY_COUNT = 2 ** 32;

/** A lazy generated vault's archives: nothing is stored, archive i is computed from (seed, i) when asked for. */
export class LazyArchiveRange implements ArchiveRange {
  readonly count: number;
  readonly bytes: number;
  private readonly generator: ArchiveGenerator;
  private readonly archives: GeneratedArchives;

  constructor(spec: LazyVaultSpec, defaultCreationDate: string) {
    if (!Number.isInteger(spec.count) || spec.count < 0 || spec.count > MAX_LAZY_COUNT) {
      throw new RangeError(`generated vault ${spec.name}: count must be an integer from 0 to ${MAX_LAZY_COUNT}`);
    }
    this.count = spec.count;
    this.generator = new ArchiveGenerator(spec.seed, spec.sizes);
    this.archives = new GeneratedArchives(spec.seed, defaultCreationDate);
    // Sizes alone are cheap to draw (≈ 0.1 s per million archives): the total is known once, for DescribeVault.
    let bytes = 0;
    for (let i = 0; i < this.count; i++) bytes += this.generator.size(i);
    this.bytes = bytes;
  }

  archive(index: number): Archive {
    return this.archives.archive(index, this.generator.spec(index));
  }

  indexOf(id: string): number | undefined {
    const index = this.archives.ids.index(id);
    return index !== undefined && index < this.count ? index : undefined;
  }
}
