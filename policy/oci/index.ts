/** OCI distribution client: references, Docker-config auth, manifests/indexes, verified blobs, layer scanning. */
export { OciError, OciAuthError, DigestMismatchError } from './errors.js';
export {
  parseImageReference,
  formatImageReference,
  registryApiHost,
  referenceSelector,
  DOCKER_HUB,
  DIGEST_PATTERN,
  type ImageReference,
} from './reference.js';
export {
  MediaType,
  MANIFEST_ACCEPT,
  isIndexMediaType,
  isManifestMediaType,
  layerCompression,
  type LayerCompression,
} from './media-types.js';
export { computeDigest, sha256Digest, verifyDigest, DigestVerifier } from './digest.js';
export {
  loadDockerCredentials,
  credentialsFromDockerConfig,
  dockerConfigPath,
  normaliseAuthKey,
  anonymous,
  type CredentialLookup,
  type RegistryCredentials,
} from './docker-auth.js';
export {
  runCredentialHelper,
  helperServerUrl,
  type HelperCredentials,
  type HelperResult,
} from './credential-helpers.js';
export { parseAuthChallenge, type AuthChallenge } from './auth-challenge.js';
export { RegistryClient, DEFAULT_PLATFORM, type RegistryClientOptions } from './registry-client.js';
export { scanLayer, normaliseTarPath, type LayerScan, type LayerFileState, type ScanOptions } from './layer-files.js';
export type {
  Descriptor,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  ContainerConfig,
  Platform,
  ResolvedImage,
} from './types.js';
