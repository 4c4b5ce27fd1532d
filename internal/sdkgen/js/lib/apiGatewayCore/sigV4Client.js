/*
 * sigV4Client.js: requests signed with AWS Signature Version 4 for AWS_IAM
 * methods (apiGateway.core.sigV4ClientFactory). The signature covers the
 * host, every header the request sends, the query and the body's SHA-256;
 * the session token, when there is one, is sent and signed as
 * X-Amz-Security-Token. Signing is synchronous (sha256.js); the request
 * returns a Promise like simpleHttpClient's. Written for apigw; no
 * third-party code.
 */
(function (root) {
  'use strict';
  var apiGateway = root.apiGateway = root.apiGateway || {};
  apiGateway.core = apiGateway.core || {};

  var ALGORITHM = 'AWS4-HMAC-SHA256';

  // hostOf is the Host header a client sends to the endpoint: lower case,
  // without the scheme's default port.
  function hostOf(endpoint) {
    var m = /^(https?):\/\/([^\/?#]+)/i.exec(endpoint);
    if (!m) {
      throw new Error('apiGateway: invalid endpoint ' + endpoint);
    }
    var scheme = m[1].toLowerCase(), host = m[2].toLowerCase();
    if ((scheme === 'http' && /:80$/.test(host)) || (scheme === 'https' && /:443$/.test(host))) {
      host = host.replace(/:\d+$/, '');
    }
    return host;
  }

  // canonicalURI encodes each segment of the path as sent once more, as
  // SigV4 does for every service but S3.
  function canonicalURI(path) {
    if (path === '') {
      return '/';
    }
    var enc = apiGateway.core.utils.encodeRFC3986;
    return path.split('/').map(enc).join('/');
  }

  function canonicalQuery(qs) {
    if (!qs) {
      return '';
    }
    var pairs = qs.split('&').map(function (p) {
      var at = p.indexOf('=');
      return at < 0 ? [p, ''] : [p.slice(0, at), p.slice(at + 1)];
    });
    pairs.sort(function (a, b) {
      if (a[0] !== b[0]) {
        return a[0] < b[0] ? -1 : 1;
      }
      return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
    });
    return pairs.map(function (p) {
      return p[0] + '=' + p[1];
    }).join('&');
  }

  function amzDate(d) {
    return d.toISOString().replace(/[:-]|\.\d{3}/g, '');
  }

  apiGateway.core.sigV4ClientFactory = {
    newClient: function (config) {
      var crypto = apiGateway.core.crypto;
      var client = {
        accessKey: apiGateway.core.utils.assertDefined(config.accessKey, 'accessKey'),
        secretKey: apiGateway.core.utils.assertDefined(config.secretKey, 'secretKey'),
        sessionToken: config.sessionToken,
        serviceName: config.serviceName || 'execute-api',
        region: config.region || 'us-east-1',
        endpoint: config.endpoint
      };

      // sign returns the headers of request with the SigV4 ones added.
      client.sign = function (verb, path, qs, headers, body, now) {
        var date = amzDate(now || new Date());
        var h = apiGateway.core.utils.copy(headers) || {};
        h['x-amz-date'] = date;
        if (client.sessionToken) {
          h['x-amz-security-token'] = client.sessionToken;
        }
        var canon = { host: hostOf(client.endpoint) };
        for (var k in h) {
          if (Object.prototype.hasOwnProperty.call(h, k)) {
            var name = k.toLowerCase();
            var value = String(h[k]).trim().replace(/\s+/g, ' ');
            canon[name] = canon[name] === undefined || name === 'host' ? value : canon[name] + ',' + value;
          }
        }
        var names = Object.keys(canon).sort();
        var signedHeaders = names.join(';');
        var canonicalHeaders = names.map(function (n) {
          return n + ':' + canon[n] + '\n';
        }).join('');
        var canonicalRequest = [
          verb,
          canonicalURI(path),
          canonicalQuery(qs),
          canonicalHeaders,
          signedHeaders,
          crypto.sha256Hex(body === undefined ? '' : body)
        ].join('\n');
        var day = date.slice(0, 8);
        var scope = day + '/' + client.region + '/' + client.serviceName + '/aws4_request';
        var stringToSign = [ALGORITHM, date, scope, crypto.sha256Hex(canonicalRequest)].join('\n');
        var key = crypto.hmacSha256('AWS4' + client.secretKey, day);
        key = crypto.hmacSha256(key, client.region);
        key = crypto.hmacSha256(key, client.serviceName);
        key = crypto.hmacSha256(key, 'aws4_request');
        var signature = crypto.toHex(crypto.hmacSha256(key, stringToSign));
        h.Authorization = ALGORITHM + ' Credential=' + client.accessKey + '/' + scope +
          ', SignedHeaders=' + signedHeaders + ', Signature=' + signature;
        return h;
      };

      client.makeRequest = function (request) {
        var http = apiGateway.core.http;
        try {
          var verb = request.verb.toUpperCase();
          var req = apiGateway.core.utils.mergeInto(request, { verb: verb });
          var body = http.body(verb, request.body);
          var headers = http.headers(config, req, body);
          var qs = apiGateway.core.utils.queryString(req.queryParams);
          var url = client.endpoint + req.path + (qs ? '?' + qs : '');
          var path = url.replace(/^https?:\/\/[^\/?#]+/i, '').replace(/\?.*$/, '');
          headers = client.sign(verb, path, qs, headers, body);
          return http.send(req, url, headers, body);
        } catch (e) {
          return Promise.reject(e);
        }
      };
      return client;
    }
  };
})(typeof globalThis !== 'undefined' ? globalThis : typeof self !== 'undefined' ? self : this);
