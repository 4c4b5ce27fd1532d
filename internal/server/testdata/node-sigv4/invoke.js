// One signed call to an apigw AWS_IAM method with seed 001's node clients.
// The job comes as JSON in the JOB environment variable:
//   {client: "aws-api-gateway-client" | "aws4", url, method, body (object or
//    null), accessKeyId, secretAccessKey, region}
// It prints {"status": N, "body": "..."} on standard output.
'use strict';
const job = JSON.parse(process.env.JOB);

function done(status, body) {
  if (typeof body !== 'string') body = JSON.stringify(body);
  process.stdout.write(JSON.stringify({ status: status, body: body }) + '\n');
}

function fail(err) {
  process.stderr.write(String(err && err.stack || err) + '\n');
  process.exit(1);
}

if (job.client === 'aws-api-gateway-client') {
  // As seed 001 shows it; the path after the stage goes in the template.
  const apigClientFactory = require('aws-api-gateway-client').default;
  const u = new URL(job.url);
  const i = u.pathname.lastIndexOf('/');
  const client = apigClientFactory.newClient({
    invokeUrl: u.origin + u.pathname.slice(0, i),
    accessKey: job.accessKeyId,
    secretKey: job.secretAccessKey,
    region: job.region,
  });
  const additionalParams = { headers: {}, queryParams: {} };
  client.invokeApi({}, u.pathname.slice(i), job.method, additionalParams, job.body === null ? undefined : job.body)
    .then((res) => done(res.status, res.data))
    .catch((err) => (err.response ? done(err.response.status, err.response.data) : fail(err)));
} else if (job.client === 'aws4') {
  const http = require('http');
  const aws4 = require('aws4');
  const u = new URL(job.url);
  const body = job.body === null ? undefined : JSON.stringify(job.body);
  const opts = {
    host: u.hostname,
    port: u.port,
    path: u.pathname + u.search,
    method: job.method,
    service: 'execute-api',
    region: job.region,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body,
  };
  aws4.sign(opts, { accessKeyId: job.accessKeyId, secretAccessKey: job.secretAccessKey });
  const req = http.request(opts, (res) => {
    let data = '';
    res.setEncoding('utf8');
    res.on('data', (c) => { data += c; });
    res.on('end', () => done(res.statusCode, data));
  });
  req.on('error', fail);
  req.end(body);
} else {
  fail('unknown client ' + job.client);
}
