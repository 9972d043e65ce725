// Verification throughput of sigstore-js (@sigstore/verify) on the same npm attestations
// responses as the Rust criterion benchmark (shared/benches/verify.rs), in one process loop:
// parse the response JSON, read every bundle, verify each against the Sigstore trusted root
// (keyless provenance) or the npm registry keys (keyed publish attestation).
//
// Usage: node bench.js [seconds]   (run `npm ci` here first)
'use strict';
const fs = require('fs');
const path = require('path');
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

const fixtures = path.join(__dirname, '..', '..', 'tests', 'fixtures');
const RESPONSES = [
  'sigstore@1.0.0.json',
  'sigstore@2.3.1.json',
  '@laurentsimon__provenance-npm-test@1.0.0.json',
  '@laurentsimon__provenance-npm-test@1.0.3.json',
  '@laurentsimon__provenance-npm-test@1.0.5.json',
  '@playwright__cli@0.1.1.json',
];

const root = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(path.join(fixtures, 'sigstore', 'trusted_root.json'))));
const npmKeys = {};
for (const key of JSON.parse(fs.readFileSync(path.join(fixtures, 'npm', 'keys', 'keys.json'))).keys) {
  npmKeys[key.keyid] = {
    rawBytes: Buffer.from(key.key, 'base64'),
    keyDetails: 'PKIX_ECDSA_P256_SHA_256',
    validFor: { start: new Date(0), end: key.expires ? new Date(key.expires) : undefined },
  };
}
const trust = toTrustMaterial(root, npmKeys);
const keyless = new Verifier(trust, { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 });
const keyed = new Verifier(trust, { tlogThreshold: 1, ctlogThreshold: 0, timestampThreshold: 1 });
const documents = RESPONSES.map((name) => fs.readFileSync(path.join(fixtures, 'npm', 'attestations', name), 'utf8'));

function verifyResponse(text) {
  for (const attestation of JSON.parse(text).attestations) {
    const bundle = bundleFromJSON(attestation.bundle);
    const verifier = bundle.verificationMaterial.content.$case === 'publicKey' ? keyed : keyless;
    verifier.verify(toSignedEntity(bundle));
  }
}

documents.forEach(verifyResponse); // every response verifies before timing starts
const seconds = Number(process.argv[2] || 10);
for (let i = 0; i < 200; i++) documents.forEach(verifyResponse); // warm-up
let count = 0;
const start = process.hrtime.bigint();
const deadline = start + BigInt(Math.round(seconds * 1e9));
let now = start;
while (now < deadline) {
  for (const document of documents) verifyResponse(document);
  count += documents.length;
  now = process.hrtime.bigint();
}
const elapsed = Number(now - start) / 1e9;
console.log(JSON.stringify({
  peer: 'sigstore-js (@sigstore/verify 4.1.3)',
  node: process.version,
  responses: count,
  seconds: Number(elapsed.toFixed(3)),
  responses_per_second: Math.round(count / elapsed),
  microseconds_per_response: Number(((elapsed / count) * 1e6).toFixed(1)),
}));
