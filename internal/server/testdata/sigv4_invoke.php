<?php
// Seed 000's signed call from PHP: Debian's php-async-aws-core signs a GET
// for execute-api, and Symfony's HttpClient sends it with the host resolved
// to the given address (curl's --resolve), the CA file as its only trust.
// Usage: php sigv4_invoke.php URL IP CAFILE ACCESS_KEY_ID SECRET_ACCESS_KEY
// Prints the status, a newline and the body.
require 'AsyncAws/Core/autoload.php';
require 'Symfony/Component/HttpClient/autoload.php';

use AsyncAws\Core\Credentials\Credentials;
use AsyncAws\Core\Request;
use AsyncAws\Core\RequestContext;
use AsyncAws\Core\Signer\SignerV4;
use AsyncAws\Core\Stream\StringStream;
use Symfony\Component\HttpClient\HttpClient;

[, $url, $ip, $cafile, $accessKey, $secretKey] = $argv;

$request = new Request('GET', '/', [], [], StringStream::create(''));
$request->setEndpoint($url);
(new SignerV4('execute-api', 'us-east-1'))->sign($request, new Credentials($accessKey, $secretKey), new RequestContext());

$client = HttpClient::create(['resolve' => [parse_url($url, PHP_URL_HOST) => $ip], 'cafile' => $cafile]);
$response = $client->request('GET', $url, ['headers' => $request->getHeaders()]);
echo $response->getStatusCode(), "\n", $response->getContent(false);
