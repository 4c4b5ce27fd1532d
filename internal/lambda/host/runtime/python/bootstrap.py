"""apigw's Python runtime loop for Lambda functions.

Speaks the Lambda Runtime API (2018-06-01) at AWS_LAMBDA_RUNTIME_API with the
standard library only: imports the handler named by _HANDLER from
LAMBDA_TASK_ROOT, then for each invocation calls handler(event, context) and
posts the result, or the error document of the exception it raised.
"""

import decimal
import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback

_API_PREFIX = "/2018-06-01/runtime"
_THIS_FILE = os.path.abspath(__file__)


class _Fault(Exception):
    """An error of the runtime itself, with a Lambda error type."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


class _RuntimeAPI:
    def __init__(self, address):
        self.address = address
        self.conn = None

    def _call(self, method, path, body=None, headers=None):
        last = None
        for _ in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.address)
            try:
                self.conn.request(method, _API_PREFIX + path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
                return resp.status, resp.headers, data
            except (http.client.HTTPException, OSError) as e:
                last = e
                self.conn.close()
                self.conn = None
        raise last

    def next(self):
        while True:
            status, headers, body = self._call("GET", "/invocation/next")
            if status == 200:
                return headers, body
            sys.stderr.write("runtime: unexpected answer to next: %d %s\n" % (status, body[:200]))
            time.sleep(0.05)

    def post_response(self, request_id, body):
        return self._call("POST", "/invocation/%s/response" % request_id, body,
                          {"Content-Type": "application/json"})

    def post_error(self, request_id, doc):
        return self._call("POST", "/invocation/%s/error" % request_id, _to_json(doc),
                          {"Content-Type": "application/json",
                           "Lambda-Runtime-Function-Error-Type": doc.get("errorType", "")})

    def post_init_error(self, doc):
        return self._call("POST", "/init/error", _to_json(doc),
                          {"Content-Type": "application/json",
                           "Lambda-Runtime-Function-Error-Type": doc.get("errorType", "")})


def _json_default(o):
    if isinstance(o, decimal.Decimal):
        if o == o.to_integral_value():
            return int(o)
        return float(o)
    raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)


def _to_json(obj):
    return json.dumps(obj, default=_json_default, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def _error_doc(message, error_type, stack, request_id=""):
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id or "",
        "stackTrace": stack or [],
    }


def _user_frames(tb):
    frames = traceback.extract_tb(tb)
    i = 0
    while i < len(frames) and os.path.abspath(frames[i].filename) == _THIS_FILE:
        i += 1
    return traceback.format_list(frames[i:])


def _log_error(doc):
    # One log event: the lines are joined with \r, and indentation is made
    # of no-break spaces, as Lambda's Python runtime writes errors.
    head = "[ERROR]"
    if doc.get("errorType"):
        head += " " + doc["errorType"]
    if doc.get("errorMessage"):
        head += (":" if doc.get("errorType") else "") + " " + doc["errorMessage"]
    lines = [head, "Traceback (most recent call last):"]
    for entry in doc.get("stackTrace") or []:
        for line in entry.splitlines():
            stripped = line.lstrip(" ")
            lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    sys.stdout.write("\r".join(lines) + "\n")
    sys.stdout.flush()


def _load_handler(spec):
    try:
        module_name, function_name = spec.rsplit(".", 1)
    except ValueError as e:
        raise _Fault("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (spec, e))
    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            raise _Fault("Runtime.BuiltInModuleConflict",
                         "Cannot use built-in module %s as a handler module" % module_name)
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as e:
        raise _Fault("Runtime.ImportModuleError",
                     "Unable to import module '%s': %s" % (module_name, e))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise _Fault("Runtime.UserCodeSyntaxError",
                     "Syntax error in module '%s': %s" % (module_name, e), trace)
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise _Fault("Runtime.HandlerNotFound",
                     "Handler '%s' missing on module '%s'" % (function_name, module_name))


class CognitoIdentity:
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __init__(self, doc=None):
        doc = doc or {}
        self.cognito_identity_id = doc.get("cognitoIdentityId")
        self.cognito_identity_pool_id = doc.get("cognitoIdentityPoolId")

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.cognito_identity_id, self.cognito_identity_pool_id)


class Client:
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"]

    def __init__(self, doc):
        for name in self.__slots__:
            setattr(self, name, doc.get(name))


class ClientContext:
    __slots__ = ["custom", "env", "client"]

    def __init__(self, doc):
        self.custom = doc.get("custom")
        self.env = doc.get("env")
        client = doc.get("client")
        self.client = Client(client) if isinstance(client, dict) else None


class LambdaContext:
    def __init__(self, request_id, deadline_ms, invoked_function_arn, client_context, identity):
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = ClientContext(client_context) if isinstance(client_context, dict) else None
        self.identity = CognitoIdentity(identity)
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        left = self._deadline_ms - int(time.time() * 1000)
        return left if left > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return ("LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,function_name=%s,"
                "memory_limit_in_mb=%s,function_version=%s,invoked_function_arn=%s,client_context=%s,identity=%s])" % (
                    self.aws_request_id, self.log_group_name, self.log_stream_name, self.function_name,
                    self.memory_limit_in_mb, self.function_version, self.invoked_function_arn,
                    self.client_context, self.identity))


_current_request_id = ""


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _current_request_id
        return True


class _StdoutHandler(logging.Handler):
    def emit(self, record):
        try:
            sys.stdout.write(self.format(record))
            sys.stdout.flush()
        except Exception:
            self.handleError(record)


def _setup_logging():
    logging.Formatter.converter = time.gmtime
    handler = _StdoutHandler()
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
        "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging._nameToLevel:
        root.setLevel(level)


def _parse_json_header(value, what):
    if not value:
        return None
    try:
        return json.loads(value)
    except Exception as e:
        raise _Fault("Runtime.LambdaContextUnmarshalError", "Unable to parse %s JSON: %s" % (what, e))


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _handle(api, handler, headers, body):
    global _current_request_id
    request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
    _current_request_id = request_id
    trace_id = headers.get("Lambda-Runtime-Trace-Id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    error = None
    result = None
    try:
        context = LambdaContext(
            request_id,
            int(headers.get("Lambda-Runtime-Deadline-Ms", "0") or 0),
            headers.get("Lambda-Runtime-Invoked-Function-Arn"),
            _parse_json_header(headers.get("Lambda-Runtime-Client-Context"), "Client Context"),
            _parse_json_header(headers.get("Lambda-Runtime-Cognito-Identity"), "Cognito Identity"),
        )
        try:
            event = json.loads(body.decode("utf-8")) if body else {}
        except Exception as e:
            raise _Fault("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % e)
        response = handler(event, context)
        try:
            result = _to_json(response)
        except (TypeError, ValueError) as e:
            raise _Fault("Runtime.MarshalError", "Unable to marshal response: %s" % e)
    except _Fault as f:
        error = _error_doc(f.message, f.error_type, f.trace, request_id)
    except Exception as e:
        error = _error_doc(str(e), type(e).__name__, _user_frames(sys.exc_info()[2]), request_id)
    if error is not None:
        _log_error(error)
        _flush()
        api.post_error(request_id, error)
    else:
        _flush()
        api.post_response(request_id, result)


def main():
    # The task root comes first on the import path, not this file's folder.
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    here = os.path.dirname(_THIS_FILE)
    sys.path[:] = [task_root] + [p for p in sys.path
                                 if p != task_root and os.path.abspath(p or ".") != here]

    api = _RuntimeAPI(os.environ["AWS_LAMBDA_RUNTIME_API"])
    _setup_logging()
    try:
        handler = _load_handler(os.environ.get("_HANDLER", ""))
    except _Fault as f:
        doc = _error_doc(f.message, f.error_type, f.trace)
        _log_error(doc)
        api.post_init_error(doc)
        sys.exit(1)
    except Exception as e:
        doc = _error_doc(str(e), type(e).__name__, _user_frames(sys.exc_info()[2]))
        _log_error(doc)
        api.post_init_error(doc)
        sys.exit(1)
    _flush()
    while True:
        headers, body = api.next()
        _handle(api, handler, headers, body)


if __name__ == "__main__":
    main()
