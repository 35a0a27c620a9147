using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Azure.Core;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace RailCloud.WebPubSub;

/// <summary>Building a client: the handler chain (retry, then authentication, then sockets) for key or identity access.</summary>
public sealed partial class WebPubSubServiceClient
{
    /// <summary>
    /// Builds a client with its own handler chain: retry (outermost) → authentication → sockets.
    /// Give either a connection string (key access) or an endpoint and a credential (managed identity).
    /// </summary>
    public static WebPubSubServiceClient Create(WebPubSubOptions options, TokenCredential? credential = null, TimeProvider? time = null, HttpMessageHandler? primaryHandler = null)
    {
        time ??= TimeProvider.System;
        Uri endpoint;
        string? key = null;
        Func<HttpRequestMessage, CancellationToken, ValueTask<string>> bearer;
        if (!string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            var parsed = WebPubSubConnectionString.Parse(options.ConnectionString);
            endpoint = parsed.Endpoint;
            key = parsed.AccessKey;
            bearer = (request, _) => ValueTask.FromResult(WebPubSubTokens.CreateRestToken(request.RequestUri!, parsed.AccessKey, time.GetUtcNow()));
        }
        else if (options.Endpoint is not null && credential is not null)
        {
            endpoint = options.Endpoint;
            var context = new TokenRequestContext([EntraScope]);
            bearer = async (_, ct) => (await credential.GetTokenAsync(context, ct).ConfigureAwait(false)).Token;
        }
        else
        {
            throw new InvalidOperationException("Web PubSub needs a connection string, or an endpoint and a credential.");
        }

        var retry = new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = 3,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
            })
            .Build();
        var chain = new ResilienceHandler(retry)
        {
            InnerHandler = new AuthenticationHandler(bearer)
            {
                InnerHandler = primaryHandler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) },
            },
        };
        var http = new HttpClient(chain) { Timeout = TimeSpan.FromSeconds(30) };
        return new WebPubSubServiceClient(http, endpoint, options.Hub, key, time) { ClientEndpoint = options.ClientEndpoint };
    }
}
