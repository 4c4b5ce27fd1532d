/*
 * utils.js: helpers of the apigw generated SDK's core (apiGateway.core.utils).
 * Written for apigw; no third-party code.
 */
(function (root) {
  'use strict';
  var apiGateway = root.apiGateway = root.apiGateway || {};
  apiGateway.core = apiGateway.core || {};

  function contains(list, value) {
    if (!list) {
      return false;
    }
    for (var i = 0; i < list.length; i++) {
      if (list[i] === value) {
        return true;
      }
    }
    return false;
  }

  apiGateway.core.utils = {
    contains: contains,

    // assertDefined throws when value is undefined.
    assertDefined: function (value, name) {
      if (value === undefined) {
        throw new Error(name + ' must be defined');
      }
      return value;
    },

    // assertParametersDefined throws when one of the keys (bar those in
    // ignore) is missing from params.
    assertParametersDefined: function (params, keys, ignore) {
      var missing = [];
      for (var i = 0; i < (keys || []).length; i++) {
        var k = keys[i];
        if (contains(ignore, k)) {
          continue;
        }
        if (params === undefined || params === null || params[k] === undefined) {
          missing.push(k);
        }
      }
      if (missing.length > 0) {
        throw new Error('Missing required parameter' + (missing.length > 1 ? 's' : '') + ': ' + missing.join(', '));
      }
    },

    // parseParametersToObject picks the keys params has.
    parseParametersToObject: function (params, keys) {
      var out = {};
      if (params === undefined || params === null) {
        return out;
      }
      for (var i = 0; i < keys.length; i++) {
        if (params[keys[i]] !== undefined) {
          out[keys[i]] = params[keys[i]];
        }
      }
      return out;
    },

    // copy is a shallow copy of an object (undefined stays undefined).
    copy: function (obj) {
      if (obj === undefined || obj === null || typeof obj !== 'object') {
        return obj;
      }
      var out = {};
      for (var k in obj) {
        if (Object.prototype.hasOwnProperty.call(obj, k)) {
          out[k] = obj[k];
        }
      }
      return out;
    },

    // mergeInto returns a new object with base's keys, then extra's.
    mergeInto: function (base, extra) {
      var out = apiGateway.core.utils.copy(base) || {};
      for (var k in extra || {}) {
        if (Object.prototype.hasOwnProperty.call(extra, k)) {
          out[k] = extra[k];
        }
      }
      return out;
    },

    // defaults fills the keys config lacks (or has undefined) from defs.
    defaults: function (config, defs) {
      var out = apiGateway.core.utils.copy(config) || {};
      for (var k in defs) {
        if (Object.prototype.hasOwnProperty.call(defs, k) && out[k] === undefined) {
          out[k] = defs[k];
        }
      }
      return out;
    },

    // encodeRFC3986 percent-encodes everything but A-Z a-z 0-9 - _ . ~.
    encodeRFC3986: function (s) {
      return encodeURIComponent(String(s)).replace(/[!'()*]/g, function (c) {
        return '%' + c.charCodeAt(0).toString(16).toUpperCase();
      });
    },

    // queryString renders params as name=value pairs joined by &.
    queryString: function (params) {
      var parts = [];
      var enc = apiGateway.core.utils.encodeRFC3986;
      for (var k in params || {}) {
        if (!Object.prototype.hasOwnProperty.call(params, k) || params[k] === undefined) {
          continue;
        }
        var values = Array.isArray(params[k]) ? params[k] : [params[k]];
        for (var i = 0; i < values.length; i++) {
          parts.push(enc(k) + '=' + enc(values[i] === null ? '' : values[i]));
        }
      }
      return parts.join('&');
    }
  };
})(typeof globalThis !== 'undefined' ? globalThis : typeof self !== 'undefined' ? self : this);
