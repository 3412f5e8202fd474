/** OCI image-spec documents as far as this client reads them. */

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: Platform;
  readonly annotations?: Record<string, string>;
}

export interface ImageManifest {
  readonly schemaVersion: number;
  readonly mediaType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations?: Record<string, string>;
}

export interface ImageIndex {
  readonly schemaVersion: number;
  readonly mediaType?: string;
  readonly manifests: readonly Descriptor[];
}

/** The `config` part of an image config (Docker's capitalised keys). */
export interface ContainerConfig {
  readonly User?: string;
  readonly Env?: readonly string[] | null;
  readonly Entrypoint?: readonly string[] | null;
  readonly Cmd?: readonly string[] | null;
  readonly WorkingDir?: string;
  readonly Volumes?: Record<string, unknown> | null;
  readonly Labels?: Record<string, string> | null;
  readonly StopSignal?: string;
}

export interface ImageConfig {
  readonly architecture?: string;
  readonly os?: string;
  readonly config?: ContainerConfig;
  readonly rootfs: { readonly type: string; readonly diff_ids: readonly string[] };
}

export interface ResolvedImage {
  /** Reference as given (normalised). */
  readonly reference: string;
  /** Digest of the platform manifest. */
  readonly manifestDigest: string;
  /** Digest of the index the manifest was selected from, when the reference named an index. */
  readonly indexDigest?: string;
  readonly manifest: ImageManifest;
  readonly configDigest: string;
  readonly config: ImageConfig;
}
