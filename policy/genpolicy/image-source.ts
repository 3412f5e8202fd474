/**
 * Image metadata for the generator: the image config (entrypoint, cmd, env, user, workdir) and the effective
 * /etc/passwd and /etc/group of the image. `RegistryImageSource` pulls through the OCI client and scans layers
 * from the top one down, stopping as soon as both files are decided, so lower layers are often never read.
 */
import type { Logger } from 'pino';
import {
  RegistryClient,
  layerCompression,
  parseImageReference,
  scanLayer,
  type ContainerConfig,
  type LayerFileState,
  type RegistryClientOptions,
} from '../oci/index.js';
import { GenpolicyError } from './errors.js';
import { LayersCache, type LayerFiles } from './layers-cache.js';

export interface ImageInfo {
  readonly reference: string;
  readonly manifestDigest: string;
  readonly config: ContainerConfig;
  /** Contents of /etc/passwd, undefined when the image has none. */
  readonly passwd?: string;
  readonly group?: string;
}

export interface ImageSource {
  getImage(reference: string): Promise<ImageInfo>;
}

export const PASSWD_PATH = 'etc/passwd';
export const GROUP_PATH = 'etc/group';
const WANTED = [PASSWD_PATH, GROUP_PATH] as const;

export interface RegistryImageSourceOptions extends RegistryClientOptions {
  readonly cache?: LayersCache;
  readonly client?: RegistryClient;
}

export class RegistryImageSource implements ImageSource {
  readonly client: RegistryClient;
  readonly cache: LayersCache;
  /** Layers actually downloaded (for tests and logs). */
  layersDownloaded = 0;
  private readonly logger: Logger | undefined;
  private readonly memo = new Map<string, Promise<ImageInfo>>();

  constructor(opts: RegistryImageSourceOptions = {}) {
    this.client = opts.client ?? new RegistryClient(opts);
    this.cache = opts.cache ?? new LayersCache();
    this.logger = opts.logger;
  }

  getImage(reference: string): Promise<ImageInfo> {
    let p = this.memo.get(reference);
    if (!p) {
      p = this.load(reference);
      this.memo.set(reference, p);
    }
    return p;
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private async load(reference: string): Promise<ImageInfo> {
    const ref = parseImageReference(reference);
    const image = await this.client.resolveImage(ref);
    const decided: Partial<Record<string, LayerFileState>> = {};
    const layers = image.manifest.layers;
    for (let i = layers.length - 1; i >= 0 && WANTED.some((w) => decided[w] === undefined); i--) {
      const layer = layers[i]!;
      const diffId = image.config.rootfs.diff_ids[i]!;
      let files: LayerFiles | undefined = this.cache.get(diffId);
      if (!files) {
        const compression = layerCompression(layer.mediaType);
        if (!compression)
          throw new GenpolicyError(`${reference}: layer ${layer.digest} has unsupported media type ${layer.mediaType}`);
        const blob = await this.client.openBlob(ref, layer);
        const scan = await scanLayer(blob, {
          compression,
          wanted: WANTED,
          expectedDiffId: diffId,
          what: `${reference} layer ${layer.digest}`,
        });
        this.layersDownloaded++;
        files = scan.files;
        this.cache.set(diffId, files);
        this.logger?.debug({ image: reference, layer: layer.digest, diffId }, 'scanned layer');
      }
      for (const w of WANTED) if (decided[w] === undefined && files[w] !== undefined) decided[w] = files[w];
    }
    const content = (s: LayerFileState | undefined): string | undefined => (s?.kind === 'file' ? s.content : undefined);
    const passwd = content(decided[PASSWD_PATH]);
    const group = content(decided[GROUP_PATH]);
    return {
      reference: image.reference,
      manifestDigest: image.manifestDigest,
      config: image.config.config ?? {},
      ...(passwd !== undefined ? { passwd } : {}),
      ...(group !== undefined ? { group } : {}),
    };
  }
}

/** Fixed metadata (tests, offline use): reference → ImageInfo. */
export class StaticImageSource implements ImageSource {
  constructor(private readonly images: Readonly<Record<string, Omit<ImageInfo, 'reference'>>>) {}
  async getImage(reference: string): Promise<ImageInfo> {
    const info = this.images[reference];
    if (!info) throw new GenpolicyError(`no metadata for image ${reference}`);
    return { reference, ...info };
  }
}
