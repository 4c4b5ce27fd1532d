/*
 * apiGatewayClient.js: the client apigClient.js calls
 * (apiGateway.core.apiGatewayClientFactory). It adds the caller's
 * additional headers and query parameters and the API key (x-api-key), then
 * signs AWS_IAM methods' requests when the client has an access key, and
 * sends the others unsigned. Written for apigw; no third-party code.
 */
(function (root) {
  'use strict';
  var apiGateway = root.apiGateway = root.apiGateway || {};
  apiGateway.core = apiGateway.core || {};

  apiGateway.core.apiGatewayClientFactory = {
    newClient: function (simpleHttpClientConfig, sigV4ClientConfig) {
      var utils = apiGateway.core.utils;
      var simpleHttpClient = apiGateway.core.simpleHttpClientFactory.newClient(simpleHttpClientConfig);
      var sigV4Client = null;
      if (sigV4ClientConfig && sigV4ClientConfig.accessKey) {
        sigV4Client = apiGateway.core.sigV4ClientFactory.newClient(sigV4ClientConfig);
      }
      return {
        makeRequest: function (request, authType, additionalParams, apiKey) {
          additionalParams = additionalParams || {};
          var req = utils.copy(request);
          req.headers = utils.mergeInto(request.headers, additionalParams.headers);
          req.queryParams = utils.mergeInto(request.queryParams, additionalParams.queryParams);
          if (apiKey !== undefined && apiKey !== null && apiKey !== '') {
            req.headers['x-api-key'] = apiKey;
          }
          if (authType === 'AWS_IAM' && sigV4Client !== null) {
            return sigV4Client.makeRequest(req);
          }
          return simpleHttpClient.makeRequest(req);
        }
      };
    }
  };
})(typeof globalThis !== 'undefined' ? globalThis : typeof self !== 'undefined' ? self : this);
