import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';

/**
 * A tiny authoritative DNS server on 127.0.0.1 UDP for tests: answers A queries from a mutable
 * map of name → IPv4 addresses (AAAA: no records). A name not in the map is NXDOMAIN; a name
 * mapped to [] answers with no records. `mode` makes it fail on purpose.
 */
export interface TestDnsServer {
  /** `127.0.0.1:PORT`, for Resolver#setServers and `resolver.dns.server`. */
  readonly address: string;
  /** Lower-case names without the trailing dot. */
  readonly records: Map<string, string[]>;
  /** answer: normally; servfail: SERVFAIL to everything; silent: no answer (the client times out). */
  mode: 'answer' | 'servfail' | 'silent';
  /** Queries received so far. */
  readonly queries: number;
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;

export async function startDnsServer(records: Record<string, string[]> = {}): Promise<TestDnsServer> {
  const socket: Socket = createSocket('udp4');
  const map = new Map(Object.entries(records).map(([k, v]) => [normalise(k), v]));
  const state = { mode: 'answer' as TestDnsServer['mode'], queries: 0 };
  socket.on('message', (msg: Buffer, peer: RemoteInfo) => {
    state.queries++;
    if (state.mode === 'silent') return;
    const reply = answer(msg, map, state.mode);
    if (reply) socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = socket.address();
  return {
    address: `127.0.0.1:${port}`,
    records: map,
    get mode() {
      return state.mode;
    },
    set mode(mode) {
      state.mode = mode;
    },
    get queries() {
      return state.queries;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** The reply to one query message; undefined for something that is not a query we can read. */
function answer(msg: Buffer, records: Map<string, string[]>, mode: TestDnsServer['mode']): Buffer | undefined {
  if (msg.length < 12) return undefined;
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000 || msg.readUInt16BE(4) !== 1) return undefined; // a response, or not one question
  // QNAME: labels up to the zero byte (queries carry no compression).
  let pos = 12;
  const labels: string[] = [];
  while (pos < msg.length && msg[pos] !== 0) {
    const len = msg[pos]!;
    if (len > 63 || pos + 1 + len > msg.length) return undefined;
    labels.push(msg.subarray(pos + 1, pos + 1 + len).toString('latin1'));
    pos += 1 + len;
  }
  pos += 1;
  if (pos + 4 > msg.length) return undefined;
  const qtype = msg.readUInt16BE(pos);
  const qclass = msg.readUInt16BE(pos + 2);
  const question = msg.subarray(12, pos + 4);
  const name = normalise(labels.join('.'));
  const addresses = records.get(name);

  let rcode = 0;
  let answers: Buffer[] = [];
  if (mode === 'servfail') rcode = RCODE_SERVFAIL;
  else if (qclass !== CLASS_IN) rcode = RCODE_NOTIMP;
  else if (addresses === undefined) rcode = RCODE_NXDOMAIN;
  else if (qtype === TYPE_A) answers = addresses.filter((a) => isIP(a) === 4).map(aRecord);
  else if (qtype !== TYPE_AAAA) rcode = RCODE_NOTIMP;

  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  // QR, AA, the client's RD, RA; the rcode.
  header.writeUInt16BE(0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  return Buffer.concat([header, question, ...answers]);
}

/** An A record for the question's name (a pointer to offset 12), TTL 0 so nothing caches it. */
function aRecord(address: string): Buffer {
  const rr = Buffer.alloc(16);
  rr.writeUInt16BE(0xc00c, 0);
  rr.writeUInt16BE(TYPE_A, 2);
  rr.writeUInt16BE(CLASS_IN, 4);
  rr.writeUInt32BE(0, 6);
  rr.writeUInt16BE(4, 10);
  address.split('.').forEach((octet, i) => rr.writeUInt8(Number(octet), 12 + i));
  return rr;
}
