/*
 * simpleHttpClient.js: unsigned requests of the apigw generated SDK
 * (apiGateway.core.simpleHttpClientFactory) and the transport both clients
 * use (apiGateway.core.http): fetch where there is one (browsers, node 18+),
 * else XMLHttpRequest. Every request returns a Promise. It resolves with
 * {status, statusText, headers, data, config} for a 2xx answer and rejects
 * with an Error whose .response is that object otherwise, as the axios-based
 * client of AWS's generated SDK does. data is the parsed JSON when the answer
 * is JSON, else its text. Written for apigw; no third-party code.
 */
(function (root) {
  'use strict';
  var apiGateway = root.apiGateway = root.apiGateway || {};
  apiGateway.core = apiGateway.core || {};

  function parseData(headers, text) {
    var ct = headers['content-type'] || '';
    if (text !== '' && /[/+]json\b/i.test(ct)) {
      try {
        return JSON.parse(text);
      } catch (e) {
        return text;
      }
    }
    return text;
  }

  function settle(request, status, statusText, headers, text) {
    var response = {
      status: status,
      statusText: statusText,
      headers: headers,
      data: parseData(headers, text),
      config: request
    };
    if (status >= 200 && status < 300) {
      return response;
    }
    var err = new Error('Request failed with status code ' + status);
    err.response = response;
    throw err;
  }

  function viaFetch(request, url, headers, body) {
    return root.fetch(url, { method: request.verb, headers: headers, body: body }).then(function (res) {
      var h = {};
      res.headers.forEach(function (value, name) {
        h[name.toLowerCase()] = value;
      });
      return res.text().then(function (text) {
        return settle(request, res.status, res.statusText, h, text);
      });
    });
  }

  function viaXHR(request, url, headers, body) {
    return new Promise(function (resolve, reject) {
      var xhr = new root.XMLHttpRequest();
      xhr.open(request.verb, url, true);
      for (var k in headers) {
        if (Object.prototype.hasOwnProperty.call(headers, k)) {
          xhr.setRequestHeader(k, headers[k]);
        }
      }
      xhr.onload = function () {
        var h = {};
        var lines = xhr.getAllResponseHeaders().trim().split(/[\r\n]+/);
        for (var i = 0; i < lines.length; i++) {
          var at = lines[i].indexOf(':');
          if (at > 0) {
            h[lines[i].slice(0, at).trim().toLowerCase()] = lines[i].slice(at + 1).trim();
          }
        }
        try {
          resolve(settle(request, xhr.status, xhr.statusText, h, xhr.responseText));
        } catch (e) {
          reject(e);
        }
      };
      xhr.onerror = function () {
        reject(new Error('Network Error'));
      };
      xhr.send(body === undefined ? null : body);
    });
  }

  apiGateway.core.http = {
    // body turns a request body into what is sent: nothing for GET and HEAD
    // or an absent body, a string as it is, bytes as they are, anything
    // else as JSON.
    body: function (verb, body) {
      if (body === undefined || body === null || verb === 'GET' || verb === 'HEAD') {
        return undefined;
      }
      if (typeof body === 'string') {
        return body;
      }
      if (typeof Uint8Array !== 'undefined' && body instanceof Uint8Array) {
        return body;
      }
      if (typeof ArrayBuffer !== 'undefined' && body instanceof ArrayBuffer) {
        return new Uint8Array(body);
      }
      return JSON.stringify(body);
    },

    // headers is the request's headers with the defaults for Accept and,
    // when a body is sent, Content-Type.
    headers: function (config, request, body) {
      var h = apiGateway.core.utils.copy(request.headers) || {};
      var has = function (name) {
        for (var k in h) {
          if (k.toLowerCase() === name) {
            return true;
          }
        }
        return false;
      };
      if (!has('accept') && config.defaultAcceptType) {
        h.Accept = config.defaultAcceptType;
      }
      if (body !== undefined && !has('content-type') && config.defaultContentType) {
        h['Content-Type'] = config.defaultContentType;
      }
      return h;
    },

    // send makes the request; url is complete, headers final.
    send: function (request, url, headers, body) {
      try {
        if (typeof root.fetch === 'function') {
          return viaFetch(request, url, headers, body);
        }
        if (typeof root.XMLHttpRequest === 'function') {
          return viaXHR(request, url, headers, body);
        }
        return Promise.reject(new Error('apiGateway: neither fetch nor XMLHttpRequest is available'));
      } catch (e) {
        return Promise.reject(e);
      }
    },

    url: function (config, request) {
      var qs = apiGateway.core.utils.queryString(request.queryParams);
      return config.endpoint + request.path + (qs ? '?' + qs : '');
    }
  };

  apiGateway.core.simpleHttpClientFactory = {
    newClient: function (config) {
      return {
        makeRequest: function (request) {
          var http = apiGateway.core.http;
          var verb = request.verb.toUpperCase();
          var req = apiGateway.core.utils.mergeInto(request, { verb: verb });
          var body = http.body(verb, request.body);
          return http.send(req, http.url(config, req), http.headers(config, req, body), body);
        }
      };
    }
  };
})(typeof globalThis !== 'undefined' ? globalThis : typeof self !== 'undefined' ? self : this);
