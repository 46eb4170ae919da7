// Proves that the official alipay-sdk (4.x) accepts what Qianbao's gateway protocol layer produces.
//
// Usage: node tests/sdk/verify.mjs <dir>
//
// <dir> is written by the C# test (AlipaySdkHarnessTests) and holds:
//   app-private-key.txt         app private key, bare Base64 PKCS#1 (the SDK's default keyType)
//   app-private-key-pkcs8.pem   the same key as PKCS#8 PEM (keyType 'PKCS8')
//   platform-public-key.txt     platform public key, bare Base64 SubjectPublicKeyInfo (the SDK's alipayPublicKey)
//   request.json                { appId, method, bizContent, notifyUrl, expected: {...} }
//   response-success.json       a signed success body for request.method, written by GatewayResponseWriter
//   response-error.json         a signed 40004 body for request.method
//   notification.txt            a signed notification form body, written by NotificationSigner
//
// The script runs a loopback HTTP server that records each request and answers with one of the bodies above,
// drives the SDK's own exec() (which signs with sign() and verifies with checkResponseSign()) and
// checkNotifySign()/checkNotifySignV2(), then writes:
//   captured-requests.json      [{ url, contentType, body }] as the SDK sent them, for the C# verifier
//   result.json                 { ok, checks: [{ name, ok, detail }] }
// Exit code 0 when every check passed, 1 otherwise.

import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { AlipaySdk } from 'alipay-sdk';

// The SDK stamps `timestamp` with the process's local time (utility's YYYYMMDDHHmmss), while the protocol wants
// China time. Merchants run in China; a CI machine runs in UTC. Pin the zone so the gateway's window check passes.
process.env.TZ = 'Asia/Shanghai';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node verify.mjs <dir>');
  process.exit(2);
}

const read = name => readFile(path.join(dir, name), 'utf8');
const appPrivateKey = (await read('app-private-key.txt')).trim();
const appPrivateKeyPkcs8 = await read('app-private-key-pkcs8.pem');
const platformPublicKey = (await read('platform-public-key.txt')).trim();
const request = JSON.parse(await read('request.json'));
const successBody = await readFile(path.join(dir, 'response-success.json'));
const errorBody = await readFile(path.join(dir, 'response-error.json'));
const notificationBody = await read('notification.txt');

const checks = [];
function check(name, ok, detail = '') {
  checks.push({ name, ok: Boolean(ok), detail: String(detail) });
}

// Answers each request with the next queued body; records what the SDK sent.
const captured = [];
const queue = [];
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', c => chunks.push(c));
  req.on('end', () => {
    captured.push({
      url: req.url,
      contentType: req.headers['content-type'] ?? '',
      body: Buffer.concat(chunks).toString('utf8'),
    });
    const next = queue.shift() ?? Buffer.from('{}');
    res.writeHead(200, { 'content-type': 'application/json;charset=utf-8' });
    res.end(next);
  });
});
await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
const gateway = `http://127.0.0.1:${server.address().port}/gateway.do`;

const sdkPkcs1 = new AlipaySdk({ appId: request.appId, privateKey: appPrivateKey, alipayPublicKey: platformPublicKey, gateway });
const sdkPkcs8 = new AlipaySdk({
  appId: request.appId, privateKey: appPrivateKeyPkcs8, keyType: 'PKCS8', alipayPublicKey: platformPublicKey, gateway,
});

async function exec(sdk, body) {
  queue.push(body);
  return sdk.exec(request.method, { bizContent: request.bizContent, notifyUrl: request.notifyUrl }, { validateSign: true });
}

try {
  // (b) our signed success response verifies, and its fields (including Chinese text) arrive intact.
  try {
    const result = await exec(sdkPkcs1, successBody);
    const mismatches = Object.entries(request.expected)
      .filter(([key, value]) => result[key] !== value)
      .map(([key, value]) => `${key}: expected ${JSON.stringify(value)}, got ${JSON.stringify(result[key])}`);
    check('success response accepted with validateSign', result.code === '10000' && mismatches.length === 0,
      mismatches.join('; ') || JSON.stringify(result));
  } catch (err) {
    check('success response accepted with validateSign', false, err.message);
  }

  // A business failure under the method's key is verifiable too; exec() returns it instead of throwing.
  try {
    const result = await exec(sdkPkcs1, errorBody);
    check('business error response accepted with validateSign', result.code === '40004' && Boolean(result.subCode),
      JSON.stringify(result));
  } catch (err) {
    check('business error response accepted with validateSign', false, err.message);
  }

  // The PKCS#8 key form signs requests the gateway must accept as well.
  try {
    const result = await exec(sdkPkcs8, successBody);
    check('success response accepted by a PKCS8-configured SDK', result.code === '10000', JSON.stringify(result));
  } catch (err) {
    check('success response accepted by a PKCS8-configured SDK', false, err.message);
  }

  // The check must be able to fail: one changed character in the signed text is refused.
  try {
    const tampered = Buffer.from(successBody.toString('utf8').replace('"msg":"Success"', '"msg":"Succesz"'));
    await exec(sdkPkcs1, tampered);
    check('tampered response rejected', false, 'exec() accepted a tampered body');
  } catch (err) {
    check('tampered response rejected', /验签失败/.test(err.message), err.message.slice(0, 120));
  }

  // Notifications: parse the form as a merchant's web framework would, then use the SDK's checks.
  const postData = Object.fromEntries(new URLSearchParams(notificationBody));
  check('notification accepted by checkNotifySign', sdkPkcs1.checkNotifySign({ ...postData }));
  check('notification accepted by checkNotifySignV2', sdkPkcs1.checkNotifySignV2({ ...postData }));
  const tamperedNotification = { ...postData, total_amount: postData.total_amount + '1' };
  check('tampered notification rejected', !sdkPkcs1.checkNotifySign(tamperedNotification));
} finally {
  server.close();
}

// (a) what the SDK sent, for the C# side to verify with our parser and the app public key.
await writeFile(path.join(dir, 'captured-requests.json'), JSON.stringify(captured, null, 2));
const ok = checks.every(c => c.ok) && captured.length === 4;
await writeFile(path.join(dir, 'result.json'), JSON.stringify({ ok, checks }, null, 2));
for (const c of checks) {
  console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.ok ? '' : ` — ${c.detail}`}`);
}
console.log(`captured ${captured.length} requests`);
process.exit(ok ? 0 : 1);
