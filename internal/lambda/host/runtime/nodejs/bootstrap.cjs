// apigw's Node.js runtime loop for Lambda functions.
//
// Speaks the Lambda Runtime API (2018-06-01) at AWS_LAMBDA_RUNTIME_API with
// Node's own modules only: loads the handler named by _HANDLER from
// LAMBDA_TASK_ROOT (CommonJS or ES module), then for each invocation calls it
// with (event, context, callback), async or callback style, and posts the
// result or the error.
'use strict';

const http = require('http');
const fs = require('fs');
const path = require('path');
const util = require('util');
const { pathToFileURL } = require('url');

const API_PREFIX = '/2018-06-01/runtime';
const [apiHost, apiPort] = (process.env.AWS_LAMBDA_RUNTIME_API || '').split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

// ---- errors ----

class RuntimeError extends Error {}
for (const name of [
  'ImportModuleError',
  'HandlerNotFound',
  'MalformedHandlerName',
  'UserCodeSyntaxError',
  'UnhandledPromiseRejection',
  'CallbackError',
]) {
  const cls = class extends RuntimeError {};
  Object.defineProperty(cls, 'name', { value: name });
  cls.prototype.name = 'Runtime.' + name;
  module.exports[name] = cls;
}
const E = module.exports;

function errorDocument(err) {
  try {
    if (err instanceof Error || (err && typeof err.name === 'string' && typeof err.message === 'string' && typeof err.stack === 'string')) {
      return {
        errorType: err.name,
        errorMessage: err.message,
        trace: typeof err.stack === 'string' ? err.stack.split('\n') : [],
      };
    }
    return { errorType: typeof err, errorMessage: String(err), trace: [] };
  } catch (_) {
    return {
      errorType: 'handled',
      errorMessage: 'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

// ---- Runtime API client ----

function call(method, p, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: apiHost, port: apiPort, method, path: API_PREFIX + p, agent, headers: headers || {} },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function callRetry(method, p, body, headers) {
  try {
    return await call(method, p, body, headers);
  } catch (_) {
    return await call(method, p, body, headers);
  }
}

async function nextInvocation() {
  for (;;) {
    const res = await callRetry('GET', '/invocation/next');
    if (res.status === 200) return res;
    process.stderr.write(`runtime: unexpected answer to next: ${res.status} ${res.body.toString().slice(0, 200)}\n`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function postResponse(id, payload) {
  return callRetry('POST', `/invocation/${id}/response`, payload, { 'Content-Type': 'application/json' });
}

function postError(id, doc) {
  return callRetry('POST', `/invocation/${id}/error`, JSON.stringify(doc), {
    'Content-Type': 'application/json',
    'Lambda-Runtime-Function-Error-Type': doc.errorType || '',
  });
}

function postInitError(doc) {
  return callRetry('POST', '/init/error', JSON.stringify(doc), {
    'Content-Type': 'application/json',
    'Lambda-Runtime-Function-Error-Type': doc.errorType || '',
  });
}

// ---- logging ----

let currentRequestId;

function patchConsole() {
  const levels = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' };
  for (const [method, level] of Object.entries(levels)) {
    console[method] = (...args) => {
      let text = util.format(...args);
      if (method === 'trace') text = `Trace: ${text}\n${new Error().stack.split('\n').slice(2).join('\n')}`;
      // One log event per call: newlines become carriage returns.
      text = text.replace(/\n/g, '\r');
      process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${text}\n`);
    };
  }
}

function formatError(err) {
  try {
    return '\t' + JSON.stringify(err, (_k, v) => {
      if (v instanceof Error) {
        const out = Object.assign({ errorType: v.name, errorMessage: v.message, code: v.code }, v);
        if (typeof v.stack === 'string') out.stack = v.stack.split('\n');
        return out;
      }
      return v;
    });
  } catch (_) {
    return '\t' + JSON.stringify(errorDocument(err));
  }
}

// ---- loading the handler ----

function packageTypeIsModule(dir) {
  for (;;) {
    if (dir.endsWith(path.sep + 'node_modules')) return false;
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module';
      } catch (_) {
        return false;
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
}

async function loadModule(root, moduleRoot, name) {
  const base = path.resolve(root, moduleRoot, name);
  const isFile = (p) => fs.existsSync(p) && fs.statSync(p).isFile();
  if (isFile(base)) return require(base);
  const esm = packageTypeIsModule(path.dirname(base));
  if (isFile(base + '.js')) return esm ? import(pathToFileURL(base + '.js').href) : require(base + '.js');
  if (isFile(base + '.mjs')) return import(pathToFileURL(base + '.mjs').href);
  if (isFile(base + '.cjs')) return require(base + '.cjs');
  const resolved = require.resolve(name, { paths: [root, path.resolve(root, moduleRoot)] });
  return require(resolved);
}

async function loadHandler() {
  const root = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const full = process.env._HANDLER || '';
  if (full.includes('..')) {
    throw new E.MalformedHandlerName(`'${full}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`);
  }
  const base = path.basename(full);
  const moduleRoot = full.slice(0, full.length - base.length);
  const m = /^([^.]*)\.(.*)$/.exec(base);
  if (!m) throw new E.MalformedHandlerName('Bad handler');
  let mod;
  try {
    mod = await loadModule(root, moduleRoot, m[1]);
  } catch (e) {
    if (e instanceof SyntaxError) throw new E.UserCodeSyntaxError(String(e));
    if (e && e.code === 'MODULE_NOT_FOUND') throw new E.ImportModuleError(String(e));
    throw e;
  }
  const fn = m[2].split('.').reduce((o, k) => (o == null ? undefined : o[k]), mod);
  if (!fn) throw new E.HandlerNotFound(`${full} is undefined or not exported`);
  if (typeof fn !== 'function') throw new E.HandlerNotFound(`${full} is not a function`);
  return fn;
}

// ---- invoking ----

function makeContext(headers, settle) {
  const deadline = Number(headers['lambda-runtime-deadline-ms'] || 0);
  const parse = (v) => {
    if (!v) return undefined;
    try {
      return JSON.parse(v);
    } catch (_) {
      return undefined;
    }
  };
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: parse(headers['lambda-runtime-cognito-identity']),
    clientContext: parse(headers['lambda-runtime-client-context']),
    getRemainingTimeInMillis() {
      return Math.max(deadline - Date.now(), 0);
    },
  };
  context.succeed = (result) => settle(null, result, true);
  context.fail = (err) => settle(err == null ? 'handled' : err, undefined, true);
  context.done = (err, result) => settle(err, result, true);
  return context;
}

// run calls the handler and resolves with [error, result] once the
// invocation is over: when its promise settles, or after its callback once
// the event loop is empty (unless callbackWaitsForEmptyEventLoop is false).
function run(handler, event, headers) {
  return new Promise((resolve) => {
    let finished = false;
    let pending = null;
    let context;
    const finish = (err, result) => {
      if (finished) return;
      finished = true;
      process.removeListener('beforeExit', onBeforeExit);
      resolve([err, result]);
    };
    const onBeforeExit = () => {
      if (pending) finish(pending[0], pending[1]);
      else finish(null, null);
    };
    const settle = (err, result, immediate) => {
      if (finished || pending) return;
      pending = [err == null ? null : err, result];
      if (immediate || !context.callbackWaitsForEmptyEventLoop) finish(pending[0], pending[1]);
    };
    context = makeContext(headers, settle);
    process.on('beforeExit', onBeforeExit);
    let ret;
    try {
      ret = handler(event, context, (err, result) => settle(err, result, false));
    } catch (e) {
      finish(e, undefined);
      return;
    }
    if (ret && typeof ret.then === 'function') {
      ret.then(
        (v) => finish(null, v),
        (e) => finish(e == null ? new Error('Promise rejected with ' + e) : e, undefined),
      );
    }
  });
}

async function main() {
  patchConsole();
  let handler;
  try {
    handler = await loadHandler();
  } catch (e) {
    const doc = errorDocument(e);
    console.error('Uncaught Exception', formatError(e));
    await postInitError(doc);
    process.exit(129);
  }

  process.on('uncaughtException', (err) => failAndExit(err));
  process.on('unhandledRejection', (reason) => {
    const err = new E.UnhandledPromiseRejection(reason && reason.toString ? reason.toString() : String(reason));
    failAndExit(err);
  });

  for (;;) {
    const next = await nextInvocation();
    const id = next.headers['lambda-runtime-aws-request-id'];
    currentRequestId = id;
    if (next.headers['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = next.headers['lambda-runtime-trace-id'];
    else delete process.env._X_AMZN_TRACE_ID;
    let event;
    try {
      event = next.body.length ? JSON.parse(next.body.toString('utf8')) : {};
    } catch (e) {
      await postError(id, { errorType: 'Runtime.UnmarshalError', errorMessage: `Unable to unmarshal input: ${e.message}`, trace: [] });
      continue;
    }
    const [err, result] = await run(handler, event, next.headers);
    if (err != null) {
      console.error('Invoke Error', formatError(err));
      await postError(id, errorDocument(err));
      continue;
    }
    let payload;
    try {
      payload = JSON.stringify(result === undefined ? null : result);
    } catch (e) {
      const doc = { errorType: 'Runtime.MarshalError', errorMessage: `Unable to stringify response body: ${e.message}`, trace: [] };
      console.error('Invoke Error', formatError(doc));
      await postError(id, doc);
      continue;
    }
    await postResponse(id, payload);
  }
}

let failing = false;
function failAndExit(err) {
  if (failing) return;
  failing = true;
  console.error('Uncaught Exception', formatError(err));
  const done = () => process.exit(129);
  if (currentRequestId) postError(currentRequestId, errorDocument(err)).then(done, done);
  else postInitError(errorDocument(err)).then(done, done);
}

main().catch((e) => {
  process.stderr.write(`runtime: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
