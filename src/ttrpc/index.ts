/** ttrpc (containerd/ttrpc, ttrpc-rust compatible): framing, client, server, hybrid vsock and address dialing. */
export {
  HEADER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
  Flags,
  FrameParser,
  encodeFrame,
  oversizeMessage,
  type Frame,
  type FrameSink,
  type OversizedFrame,
} from './frame.js';
export {
  encodeRequest,
  decodeRequest,
  encodeResponse,
  decodeResponse,
  type KeyValue,
  type RequestMessage,
  type ResponseMessage,
  type StatusMessage,
  type StatusDetail,
} from './wire.js';
export { Metadata, NAMESPACE_METADATA_KEY, type MetadataInit } from './metadata.js';
export { TtrpcError, codeName } from './errors.js';
export { TtrpcServer, StreamMessages, type CallContext, type RawMethod, type ServerOptions } from './server.js';
export { TtrpcClient, type CallOptions, type ClientOptions } from './client.js';
export { dialHybridVsock, hybridVsockHandshake, type HybridVsockOptions } from './hvsock.js';
export { parseAddress, type Address } from './address.js';
export { dial, type DialOptions } from './dial.js';
