const tw = require('/tmp/sigvec/node_modules/twilio/lib/webhooks/webhooks.js');
const sw = require('/tmp/sigvec/node_modules/@signalwire/compatibility-api/lib/webhooks/webhooks.js');
const cases = [
 ['https://ivr.example.com.br/voice/answer?seq=3', {CallSid:'CA0123456789abcdef0123456789abcdef', Digits:'1', From:'+5548991234567'}],
 ['https://ivr.example.com.br/voice/answer?seq=4', {CallSid:'CA0123456789abcdef0123456789abcdef', SpeechResult:'Rua Delminda Silveira, novecentos, Agronômica, Florianópolis', Confidence:'0.91'}],
 ['https://ivr.example.com.br/voice/answer?seq=5', {CallSid:'CA0123456789abcdef0123456789abcdef', Digits:['9','1','9']}],
 ['https://ivr:s3nha@ivr.example.com.br/voice', {CallSid:'CA0123456789abcdef0123456789abcdef', CallStatus:'ringing'}],
 ['http://127.0.0.1:8080/voice/silence?seq=2', {CallSid:'CA0123456789abcdef0123456789abcdef', CallStatus:'in-progress'}],
];
for (const [u,p] of cases) {
  const t = tw.getExpectedTwilioSignature('twilio-vector-token', u, p);
  const s = sw.getExpectedTwilioSignature('PSKvector0123', u, p);
  console.log(JSON.stringify({u, p, twilio: t, twOk: tw.validateRequest('twilio-vector-token', t, u, p), signalwire: s, swOk: sw.validateRequest('PSKvector0123', s, u, p, true)}));
}
