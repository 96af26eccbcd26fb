/**
 * One SSE subscriber from a fresh process, for bench/fanout.ts: request → `ready`, counting what
 * came before it. Its last stdout line is the report bench/lib/measure.ts reads
 * ({"ms", "entries", "peakRssMB"}), plus what the resume measurement needs.
 *
 *   node bench/fanout/replay-client.mjs --url URL [--last-event-id ID] [--hold-ms MS]
 *
 * `ms` runs from the request to the `ready` event (process start-up excluded); `entries` counts
 * the entry events before `ready` (present during a replay; add, modify, delete during a resume).
 * `--hold-ms` keeps reading that long after `ready`, so events that trail it are counted too
 * (a resume must not trail anything). The cookie passed with --last-event-id is a resume cookie,
 * not a credential.
 */
import http from 'node:http';
import { setTimeout } from 'node:timers';
import { parseArgs } from 'node:util';
import { SseParser, syncOpOf, wallNow } from './sse-reader.mjs';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    'last-event-id': { type: 'string' },
    'hold-ms': { type: 'string', default: '0' },
    'timeout-ms': { type: 'string', default: '60000' },
  },
});
if (!values.url) {
  process.stderr.write('usage: replay-client.mjs --url URL [--last-event-id ID] [--hold-ms MS]\n');
  process.exit(2);
}
const holdMs = Math.min(Math.max(0, Number(values['hold-ms']) || 0), 10_000);

const before = { present: 0, add: 0, modify: 0, delete: 0, reset: 0, other: 0 };
const after = { present: 0, add: 0, modify: 0, delete: 0, reset: 0, other: 0 };
let readyAt;
let readyId;
const started = wallNow();

const parser = new SseParser((event, data, id, at) => {
  const tally = readyAt === undefined ? before : after;
  if (event === 'entry') {
    const op = syncOpOf(data);
    tally[op in tally ? op : 'other']++;
  } else if (event === 'reset') tally.reset++;
  else if (event === 'ready' && readyAt === undefined) {
    readyAt = at;
    readyId = id;
    setTimeout(finish, holdMs);
  } else tally.other++;
});

const headers = { Accept: 'text/event-stream' };
if (values['last-event-id'] !== undefined) headers['Last-Event-ID'] = values['last-event-id'];
const req = http.get(values.url, { agent: false, headers }, (res) => {
  if (res.statusCode !== 200) {
    process.stderr.write(`replay-client: HTTP ${res.statusCode}\n`);
    process.exit(1);
  }
  res.setEncoding('utf8');
  res.on('data', (text) => parser.push(text, wallNow()));
  res.on('close', () => {
    if (readyAt === undefined) {
      process.stderr.write('replay-client: the stream ended before ready\n');
      process.exit(1);
    }
  });
});
req.on('error', (err) => {
  process.stderr.write(`replay-client: ${err.message}\n`);
  process.exit(1);
});
setTimeout(() => {
  process.stderr.write('replay-client: no ready in time\n');
  process.exit(1);
}, Number(values['timeout-ms'])).unref();

function finish() {
  const entries = before.present + before.add + before.modify + before.delete;
  const report = {
    ms: round(readyAt - started),
    entries,
    peakRssMB: round(process.resourceUsage().maxRSS / 1024),
    before,
    after,
    readyId,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  req.destroy();
  process.exit(0);
}

function round(x) {
  return Math.round(x * 10) / 10;
}
