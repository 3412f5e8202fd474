/**
 * ttrpc payload messages, encoded by hand with the protobufjs low-level Writer/Reader so that src/ttrpc does not
 * depend on the .proto loader (src/protocols builds its typed services on top of this package):
 *
 *   Request  { string service = 1; string method = 2; bytes payload = 3; int64 timeout_nano = 4;
 *              repeated KeyValue metadata = 5 }             KeyValue { string key = 1; string value = 2 }
 *   Response { google.rpc.Status status = 1; bytes payload = 2 }
 *   Status   { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3 }
 *
 * Like Go, defaults are not written, and a Response always carries its Status (an OK status is `0a 00`).
 */
import protobuf from 'protobufjs/minimal.js';

export interface KeyValue {
  key: string;
  value: string;
}

export interface RequestMessage {
  service: string;
  method: string;
  payload: Uint8Array;
  /** Nanoseconds; 0 = no deadline. */
  timeoutNano: number;
  metadata: KeyValue[];
}

export interface StatusDetail {
  typeUrl: string;
  value: Uint8Array;
}

export interface StatusMessage {
  code: number;
  message: string;
  details: StatusDetail[];
}

export interface ResponseMessage {
  status: StatusMessage;
  payload: Uint8Array;
}

const { Writer, Reader } = protobuf;

/** Read a length prefix and check it fits (protobufjs' Buffer reader silently clamps truncated strings). */
function lenDelim(r: protobuf.Reader): [number, number] {
  const len = r.uint32();
  const start = r.pos;
  if (start + len > r.len) throw new Error(`truncated field: length ${len} at offset ${start} exceeds ${r.len} bytes`);
  return [start, start + len];
}

function readString(r: protobuf.Reader): string {
  const [start, end] = lenDelim(r);
  r.pos = end;
  return Buffer.from(r.buf.buffer, r.buf.byteOffset + start, end - start).toString('utf8');
}

function readBytes(r: protobuf.Reader): Uint8Array {
  const [start, end] = lenDelim(r);
  r.pos = end;
  return Buffer.from(r.buf.subarray(start, end));
}

export function encodeRequest(r: Partial<RequestMessage> & { service: string; method: string }): Uint8Array {
  const w = Writer.create();
  if (r.service) w.uint32(0x0a).string(r.service);
  if (r.method) w.uint32(0x12).string(r.method);
  if (r.payload && r.payload.length > 0) w.uint32(0x1a).bytes(r.payload);
  if (r.timeoutNano) w.uint32(0x20).int64(r.timeoutNano);
  for (const kv of r.metadata ?? []) {
    w.uint32(0x2a).fork();
    if (kv.key) w.uint32(0x0a).string(kv.key);
    if (kv.value) w.uint32(0x12).string(kv.value);
    w.ldelim();
  }
  return w.finish();
}

/** After decoding a nested message, the reader must sit exactly at its end. */
function checkEnd(r: protobuf.Reader, end: number, what: string): void {
  if (r.pos !== end) throw new Error(`malformed ${what}: nested fields overrun their length`);
}

function decodeKeyValue(r: protobuf.Reader, end: number): KeyValue {
  const kv: KeyValue = { key: '', value: '' };
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        kv.key = readString(r);
        break;
      case 2:
        kv.value = readString(r);
        break;
      default:
        r.skipType(tag & 7);
    }
  }
  return kv;
}

/** Decode a Request; throws on malformed protobuf. */
export function decodeRequest(bytes: Uint8Array): RequestMessage {
  const r = Reader.create(bytes);
  const out: RequestMessage = { service: '', method: '', payload: new Uint8Array(0), timeoutNano: 0, metadata: [] };
  while (r.pos < r.len) {
    const tag = r.uint32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        expectWire(wt, 2, 'service');
        out.service = readString(r);
        break;
      case 2:
        expectWire(wt, 2, 'method');
        out.method = readString(r);
        break;
      case 3:
        expectWire(wt, 2, 'payload');
        out.payload = readBytes(r);
        break;
      case 4: {
        expectWire(wt, 0, 'timeout_nano');
        const v = r.int64() as unknown;
        out.timeoutNano = typeof v === 'number' ? v : Number((v as { toString(): string }).toString());
        break;
      }
      case 5: {
        expectWire(wt, 2, 'metadata');
        const [, end] = lenDelim(r);
        out.metadata.push(decodeKeyValue(r, end));
        checkEnd(r, end, 'metadata');
        break;
      }
      default:
        r.skipType(wt);
    }
  }
  return out;
}

function expectWire(got: number, want: number, field: string): void {
  if (got !== want) throw new Error(`field ${field}: wire type ${got}, expected ${want}`);
}

export function encodeResponse(res: { status?: Partial<StatusMessage>; payload?: Uint8Array }): Uint8Array {
  const w = Writer.create();
  const s = res.status ?? {};
  w.uint32(0x0a).fork();
  if (s.code) w.uint32(0x08).int32(s.code);
  if (s.message) w.uint32(0x12).string(s.message);
  for (const d of s.details ?? []) {
    w.uint32(0x1a).fork();
    if (d.typeUrl) w.uint32(0x0a).string(d.typeUrl);
    if (d.value && d.value.length > 0) w.uint32(0x12).bytes(d.value);
    w.ldelim();
  }
  w.ldelim();
  if (res.payload && res.payload.length > 0) w.uint32(0x12).bytes(res.payload);
  return w.finish();
}

function decodeStatus(r: protobuf.Reader, end: number): StatusMessage {
  const s: StatusMessage = { code: 0, message: '', details: [] };
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        s.code = r.int32();
        break;
      case 2:
        s.message = readString(r);
        break;
      case 3: {
        const [, stop] = lenDelim(r);
        const d: StatusDetail = { typeUrl: '', value: new Uint8Array(0) };
        while (r.pos < stop) {
          const t = r.uint32();
          if (t >>> 3 === 1) d.typeUrl = readString(r);
          else if (t >>> 3 === 2) d.value = readBytes(r);
          else r.skipType(t & 7);
        }
        s.details.push(d);
        break;
      }
      default:
        r.skipType(tag & 7);
    }
  }
  return s;
}

/** Decode a Response; throws on malformed protobuf. */
export function decodeResponse(bytes: Uint8Array): ResponseMessage {
  const r = Reader.create(bytes);
  const out: ResponseMessage = { status: { code: 0, message: '', details: [] }, payload: new Uint8Array(0) };
  while (r.pos < r.len) {
    const tag = r.uint32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1: {
        expectWire(wt, 2, 'status');
        const [, end] = lenDelim(r);
        out.status = decodeStatus(r, end);
        checkEnd(r, end, 'status');
        break;
      }
      case 2:
        expectWire(wt, 2, 'payload');
        out.payload = readBytes(r);
        break;
      default:
        r.skipType(wt);
    }
  }
  return out;
}
