/*
 * url-template.js: the URI templates of the apigw generated SDK, a small part
 * of RFC 6570: {name} (value percent-encoded, '/' included) and {+name}
 * (the '/' between path segments kept, for greedy {proxy+} paths).
 * Written for apigw; no third-party code.
 */
(function (root) {
  'use strict';
  function encodeUnreserved(s) {
    return encodeURIComponent(s).replace(/[!'()*]/g, function (c) {
      return '%' + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }
  // encodePath keeps the '/' between segments and encodes the rest.
  function encodePath(s) {
    return s.split('/').map(encodeUnreserved).join('/');
  }
  root.uritemplate = function (template) {
    return {
      expand: function (values) {
        values = values || {};
        return template.replace(/\{(\+?)([^{}+]+)\}/g, function (all, plus, name) {
          var v = values[name];
          if (v === undefined || v === null) {
            return '';
          }
          return plus ? encodePath(String(v)) : encodeUnreserved(String(v));
        });
      }
    };
  };
})(typeof globalThis !== 'undefined' ? globalThis : typeof self !== 'undefined' ? self : this);
