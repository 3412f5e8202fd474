import { describe, expect, it } from 'vitest';
import {
  FrameParser,
  MAX_MESSAGE_LENGTH,
  MessageType,
  decodeRequest,
  decodeResponse,
  encodeFrame,
  encodeRequest,
  encodeResponse,
  type Frame,
  type OversizedFrame,
} from '../../../src/ttrpc/index.js';
import { bytes } from './helpers.js';

function collect(): { parser: FrameParser; frames: Frame[]; over: OversizedFrame[] } {
  const frames: Frame[] = [];
  const over: OversizedFrame[] = [];
  const parser = new FrameParser({ frame: (f) => frames.push(f), oversized: (o) => over.push(o) });
  return { parser, frames, over };
}

// Check 1: Request{containerd.task.v2.Task, Connect, ConnectRequest{id:"abc"}} on stream 1.
const CHECK1 = bytes(
  '00 00 00 29 00 00 00 01 01 00 0a 17 "containerd.task.v2.Task" 12 07 "Connect" 1a 05 0a 03 61 62 63',
);

describe('ttrpc frame codec (reference checks 1-4, 20, 21)', () => {
  it('check 1: encodes the Connect request frame byte for byte and decodes it back', () => {
    const payload = encodeRequest({
      service: 'containerd.task.v2.Task',
      method: 'Connect',
      payload: bytes('0a 03 61 62 63'),
    });
    expect(payload.length).toBe(41);
    const frame = encodeFrame(1, MessageType.Request, 0, payload);
    expect(frame.toString('hex')).toBe(CHECK1.toString('hex'));
    const { parser, frames } = collect();
    parser.push(frame);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.streamId).toBe(1);
    expect(frames[0]!.type).toBe(MessageType.Request);
    const req = decodeRequest(frames[0]!.payload);
    expect(req.service).toBe('containerd.task.v2.Task');
    expect(req.method).toBe('Connect');
    expect(Buffer.from(req.payload).toString('hex')).toBe('0a03616263');
    expect(req.timeoutNano).toBe(0);
    expect(req.metadata).toEqual([]);
  });

  it('check 2: OK response with empty payload is 00 00 00 02 00 00 00 01 02 00 0a 00', () => {
    const f = encodeFrame(1, MessageType.Response, 0, encodeResponse({ payload: new Uint8Array(0) }));
    expect(f.toString('hex')).toBe(bytes('00 00 00 02 00 00 00 01 02 00 0a 00').toString('hex'));
  });

  it('check 3: NotFound "not found" on stream 3', () => {
    const f = encodeFrame(3, MessageType.Response, 0, encodeResponse({ status: { code: 5, message: 'not found' } }));
    expect(f.toString('hex')).toBe(
      bytes('00 00 00 0f 00 00 00 03 02 00 0a 0d 08 05 12 09 6e 6f 74 20 66 6f 75 6e 64').toString('hex'),
    );
    const r = decodeResponse(f.subarray(10));
    expect(r.status).toEqual({ code: 5, message: 'not found', details: [] });
  });

  it('check 4: ConnectResponse{shim_pid:100, task_pid:200} response frame', () => {
    const f = encodeFrame(1, MessageType.Response, 0, encodeResponse({ payload: bytes('08 64 10 c8 01') }));
    expect(f.toString('hex')).toBe(bytes('00 00 00 09 00 00 00 01 02 00 0a 00 12 05 08 64 10 c8 01').toString('hex'));
    expect(Buffer.from(decodeResponse(f.subarray(10)).payload).toString('hex')).toBe('086410c801');
  });

  it('check 20: ttrpc-rust golden Request (67 bytes) with timeout and metadata', () => {
    const expected = bytes(
      '0a 11 "grpc.TestServices" 12 04 "Test" 1a 09 01 02 03 04 05 06 07 08 09 20 80 da c4 09 2a 18 0a 09 "test_key1" 12 0b "test_value1"',
    );
    const got = encodeRequest({
      service: 'grpc.TestServices',
      method: 'Test',
      payload: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]),
      timeoutNano: 20_000_000,
      metadata: [{ key: 'test_key1', value: 'test_value1' }],
    });
    expect(got.length).toBe(67);
    expect(Buffer.from(got).toString('hex')).toBe(expected.toString('hex'));
    const back = decodeRequest(expected);
    expect(back.timeoutNano).toBe(20_000_000);
    expect(back.metadata).toEqual([{ key: 'test_key1', value: 'test_value1' }]);
    expect(Array.from(back.payload)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('check 21: grpc.Health/Check request with empty payload on stream 1', () => {
    const f = encodeFrame(1, MessageType.Request, 0, encodeRequest({ service: 'grpc.Health', method: 'Check' }));
    expect(f.toString('hex')).toBe(
      bytes('00 00 00 14 00 00 00 01 01 00 0a 0b "grpc.Health" 12 05 "Check"').toString('hex'),
    );
  });

  it('parses frames split at every byte boundary and several frames in one chunk', () => {
    const a = encodeFrame(
      1,
      MessageType.Request,
      0,
      encodeRequest({ service: 's', method: 'm', payload: Buffer.from('xyz') }),
    );
    const b = encodeFrame(3, MessageType.Request, 0, encodeRequest({ service: 't', method: 'n' }));
    const all = Buffer.concat([a, b]);
    const { parser, frames } = collect();
    for (const byte of all) parser.push(Buffer.from([byte]));
    expect(frames.map((f) => f.streamId)).toEqual([1, 3]);
    const again = collect();
    again.parser.push(Buffer.concat([all, all.subarray(0, 5)]));
    expect(again.frames).toHaveLength(2);
    expect(again.parser.pending).toBe(5);
  });

  it('reports an oversized header, discards exactly its payload, and keeps parsing', () => {
    const { parser, frames, over } = collect();
    const h = Buffer.alloc(10);
    h.writeUInt32BE(MAX_MESSAGE_LENGTH + 1, 0);
    h.writeUInt32BE(5, 4);
    h.writeUInt8(1, 8);
    parser.push(h);
    expect(over).toEqual([{ streamId: 5, type: 1, flags: 0, length: 4194305 }]);
    // body arrives in pieces, followed by a normal frame
    const body = Buffer.alloc(MAX_MESSAGE_LENGTH + 1, 0xee);
    parser.push(body.subarray(0, 1000));
    parser.push(
      Buffer.concat([body.subarray(1000), encodeFrame(7, 1, 0, encodeRequest({ service: 'a', method: 'b' }))]),
    );
    expect(frames.map((f) => f.streamId)).toEqual([7]);
  });

  it('refuses to encode more than 4 MiB', () => {
    expect(() => encodeFrame(1, 1, 0, new Uint8Array(MAX_MESSAGE_LENGTH + 1))).toThrow(
      'message length 4194305 exceed maximum message size of 4194304',
    );
    expect(encodeFrame(1, 1, 0, new Uint8Array(MAX_MESSAGE_LENGTH)).length).toBe(MAX_MESSAGE_LENGTH + 10);
  });

  it('rejects malformed request bytes', () => {
    expect(() => decodeRequest(bytes('0a 10 41'))).toThrow();
    expect(() => decodeRequest(bytes('08 01'))).toThrow(/wire type 0, expected 2/);
    // metadata entry whose inner key claims more bytes than the entry holds
    expect(() => decodeRequest(bytes('2a 03 0a 05 61 61 61 61 61'))).toThrow(/malformed metadata|truncated/);
    expect(() => decodeResponse(bytes('0a 02 12 05 61 61 61 61 61'))).toThrow(/malformed status|truncated/);
  });
});
