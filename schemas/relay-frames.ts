// The tunnel relay's binary frames, the one place they are defined. They travel on the relay's own
// WebSocket between the control plane and an agent (GET /api/v1/agents/relay), one frame per
// binary WebSocket message, never on the agent's JSON control connection (see
// controlplane/relay/relay-gateway.ts for why). Every frame starts with the same five bytes:
//
//   byte 0      type (below)
//   bytes 1..4  stream id, uint32 big-endian, chosen by the control plane (the side that opens)
//
// and the rest depends on the type:
//
//   open      control plane → agent: uint8 length of the instance uid, the uid (UTF-8), then the
//             port name (UTF-8) to the end. A public TCP connection arrived for that port.
//   accepted  agent → control plane: empty. The agent connected to the instance; data may flow.
//   refused   agent → control plane: the reason (UTF-8), for the control plane's log. The stream
//             is gone on both sides.
//   data      either way: the payload bytes, at most the credit the peer has granted.
//   credit    either way: uint32 big-endian, bytes the receiver has handed on to its TCP socket,
//             which the sender may now send more of (RELAY_WINDOW at the start of each stream).
//   end       either way: empty. The sender's TCP peer finished writing (half close, FIN).
//   close     either way: empty. The stream is gone (either TCP side closed or failed); the
//             receiver closes its side too.
//
// Payloads are carried as opaque bytes: nothing here (or in the relay) reads or logs them.

export const RELAY_FRAME_TYPES = ['open', 'accepted', 'refused', 'data', 'credit', 'end', 'close'] as const;
export type RelayFrameType = (typeof RELAY_FRAME_TYPES)[number];

/** Each stream's flow-control window: what one side may send before the other grants credit. */
export const RELAY_WINDOW = 256 * 1024;

export type RelayFrame =
  | { type: 'open'; streamId: number; instanceUid: string; portName: string }
  | { type: 'accepted'; streamId: number }
  | { type: 'refused'; streamId: number; reason: string }
  | { type: 'data'; streamId: number; payload: Uint8Array }
  | { type: 'credit'; streamId: number; bytes: number }
  | { type: 'end'; streamId: number }
  | { type: 'close'; streamId: number };

const HEADER = 5;

function header(type: RelayFrameType, streamId: number, bodyLength: number): Buffer {
  const frame = Buffer.allocUnsafe(HEADER + bodyLength);
  frame[0] = RELAY_FRAME_TYPES.indexOf(type);
  frame.writeUInt32BE(streamId, 1);
  return frame;
}

export function encodeRelayFrame(frame: RelayFrame): Buffer {
  switch (frame.type) {
    case 'open': {
      const uid = Buffer.from(frame.instanceUid, 'utf8');
      if (uid.length > 255) throw new RangeError('an instance uid longer than 255 bytes cannot be relayed');
      const port = Buffer.from(frame.portName, 'utf8');
      const out = header('open', frame.streamId, 1 + uid.length + port.length);
      out[HEADER] = uid.length;
      uid.copy(out, HEADER + 1);
      port.copy(out, HEADER + 1 + uid.length);
      return out;
    }
    case 'refused': {
      const reason = Buffer.from(frame.reason, 'utf8');
      const out = header('refused', frame.streamId, reason.length);
      reason.copy(out, HEADER);
      return out;
    }
    case 'data': {
      const out = header('data', frame.streamId, frame.payload.length);
      out.set(frame.payload, HEADER);
      return out;
    }
    case 'credit': {
      const out = header('credit', frame.streamId, 4);
      out.writeUInt32BE(frame.bytes, HEADER);
      return out;
    }
    default:
      return header(frame.type, frame.streamId, 0);
  }
}

/** Throws on a frame no peer of ours sends: the caller drops the connection. */
export function decodeRelayFrame(bytes: Buffer): RelayFrame {
  if (bytes.length < HEADER) throw new Error(`relay frame of ${bytes.length} bytes is shorter than its header`);
  const type = RELAY_FRAME_TYPES[bytes[0]!];
  if (!type) throw new Error(`relay frame of unknown type ${bytes[0]}`);
  const streamId = bytes.readUInt32BE(1);
  const body = bytes.subarray(HEADER);
  switch (type) {
    case 'open': {
      const uidLength = body[0];
      if (uidLength === undefined || body.length < 1 + uidLength) throw new Error('relay open frame is truncated');
      return {
        type,
        streamId,
        instanceUid: body.toString('utf8', 1, 1 + uidLength),
        portName: body.toString('utf8', 1 + uidLength),
      };
    }
    case 'refused':
      return { type, streamId, reason: body.toString('utf8') };
    case 'data':
      return { type, streamId, payload: body };
    case 'credit':
      if (body.length !== 4) throw new Error('relay credit frame must carry 4 bytes');
      return { type, streamId, bytes: body.readUInt32BE(0) };
    default:
      if (body.length !== 0) throw new Error(`relay ${type} frame must be empty`);
      return { type, streamId };
  }
}
