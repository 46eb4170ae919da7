// Drives the official alipay-sdk (unchanged) against a running Qianbao gateway, one command at a time, for the C#
// end-to-end tests (tests/Qianbao.Server.Tests/Gateway/Sdk). It is also the merchant's notify endpoint: a loopback
// HTTP server that checks every notification with the SDK's checkNotifySign and checkNotifySignV2 and answers
// `success`.
//
// Usage: node tests/sdk/scenario.mjs '<json>'   where <json> = { "gateway": "http://127.0.0.1:PORT/gateway.do" }
//
// Protocol: one JSON object per line.
//   stdout, first line:  { "ready": true, "notifyUrl": "http://127.0.0.1:PORT/notify" }
//   stdin, commands (answered in any order, matched by id; several may run at once):
//     { id, op: "client", name, appId, privateKey, alipayPublicKey, keyType? }   registers an AlipaySdk instance
//     { id, op: "exec", client, method, bizContent, notifyUrl? }                  sdk.exec(..., { validateSign: true })
//     { id, op: "notifications", outTradeNo? }                                     notifications received so far
//   stdout, answers: { id, ok: true, result } or { id, ok: false, error, name }
// The process exits when stdin closes.

import http from 'node:http';
import readline from 'node:readline';

// The SDK stamps `timestamp` in the process's local time zone; the gateway expects China time.
process.env.TZ = 'Asia/Shanghai';
const { AlipaySdk } = await import('alipay-sdk');

const config = JSON.parse(process.argv[2] ?? '{}');
if (!config.gateway) {
  console.error('usage: node scenario.mjs \'{"gateway":"http://127.0.0.1:PORT/gateway.do"}\'');
  process.exit(2);
}

// Bound every request: the SDK's default is longer than a test should ever wait.
const execTimeoutMs = config.timeoutMs ?? 10_000;
const clients = new Map();
// The first client registered for an app id checks that app's notifications (later ones may be deliberately wrong).
const verifiers = new Map();
const received = [];

const server = http.createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on('data', c => {
    size += c.length;
    if (size <= 64 * 1024) chunks.push(c);
  });
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const fields = Object.fromEntries(new URLSearchParams(body));
    const sdk = verifiers.get(fields.app_id);
    let v1 = false;
    let v2 = false;
    try {
      v1 = Boolean(sdk?.checkNotifySign({ ...fields }));
    } catch {
      v1 = false; // checkNotifySign decodes values and throws on a stray '%'; V2 does not
    }
    try {
      v2 = Boolean(sdk?.checkNotifySignV2({ ...fields }));
    } catch {
      v2 = false;
    }
    received.push({
      method: req.method,
      path: req.url,
      contentType: req.headers['content-type'] ?? '',
      fields,
      checkNotifySign: v1,
      checkNotifySignV2: v2,
    });
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('success');
  });
});
await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));

function reply(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

async function handle(command) {
  switch (command.op) {
    case 'client': {
      const sdk = new AlipaySdk({
        appId: command.appId,
        privateKey: command.privateKey,
        alipayPublicKey: command.alipayPublicKey,
        keyType: command.keyType ?? 'PKCS1',
        gateway: config.gateway,
        timeout: execTimeoutMs,
      });
      clients.set(command.name, sdk);
      if (!verifiers.has(command.appId)) verifiers.set(command.appId, sdk);
      return { name: command.name };
    }
    case 'exec': {
      const sdk = clients.get(command.client);
      if (!sdk) throw new Error(`no client named ${command.client}`);
      const params = { bizContent: command.bizContent };
      if (command.notifyUrl) params.notifyUrl = command.notifyUrl;
      return await sdk.exec(command.method, params, { validateSign: true });
    }
    case 'notifications':
      return command.outTradeNo ? received.filter(n => n.fields.out_trade_no === command.outTradeNo) : received;
    default:
      throw new Error(`unknown op ${command.op}`);
  }
}

const lines = readline.createInterface({ input: process.stdin });
const inFlight = new Set();
lines.on('line', line => {
  if (!line.trim()) return;
  let command;
  try {
    command = JSON.parse(line);
  } catch (err) {
    reply({ id: null, ok: false, error: `bad command: ${err.message}` });
    return;
  }
  const work = handle(command)
    .then(result => reply({ id: command.id, ok: true, result }))
    .catch(err => reply({ id: command.id, ok: false, error: String(err?.message ?? err), name: err?.name ?? 'Error' }))
    .finally(() => inFlight.delete(work));
  inFlight.add(work);
});
lines.on('close', async () => {
  await Promise.allSettled([...inFlight]);
  server.close();
  process.exit(0);
});

reply({ ready: true, notifyUrl: `http://127.0.0.1:${server.address().port}/notify` });
