using RailCloud.Signaling.Accounts;
using RailCloud.Signaling.Devices;
using RailCloud.Signaling.Hub;
using RailCloud.Signaling.Kiosks;
using RailCloud.WebPubSub;

namespace RailCloud.LocalHost;

/// <summary>The routes of DESIGN.md, each feature's Map* group over the shared handlers (the same results as the Functions), and the web client.</summary>
public static class Endpoints
{
    /// <summary>Every feature's routes under /api.</summary>
    public static void MapRailCloudApi(this WebApplication app)
    {
        app.MapAccounts();
        app.MapDevices();
        app.MapKiosks();
        app.MapHub();
    }

    /// <summary>Serves clients/web/dist when it has been built (the kiosk and monitor pages).</summary>
    public static void MapWebClient(this WebApplication app)
    {
        var root = app.Configuration["WebClient:Root"] ?? FindWebRoot(app.Environment.ContentRootPath);
        if (root is null || !Directory.Exists(root))
        {
            app.Logger.LogWarning("The web client is not built (clients/web/dist is missing): run 'npm ci' and build again to get /kiosk and /monitor");
            return;
        }
        // The pages read config.json: the API's base URL (here the same origin) and, when set, Entra ID sign-in
        // (WebClient:Entra:ClientId, :Authority, :Scope, and :KnownAuthorities for an authority MSAL does not know).
        // Answered before the static files, so a config.json that azd wrote for Azure never points local pages there.
        var webPubSub = app.Services.GetRequiredService<WebPubSubServiceClient>();
        var policy = ContentSecurityPolicy(root, app.Environment.ContentRootPath, app.Configuration, webPubSub.ClientEndpoint ?? webPubSub.Endpoint);
        // MSAL's hidden renewal frame comes back to auth-redirect.html: only that page may be framed, and only by this site.
        var (framed, unframed) = (policy.Replace("{ancestors}", "'self'", StringComparison.Ordinal), policy.Replace("{ancestors}", "'none'", StringComparison.Ordinal));
        app.Use(async (context, next) =>
        {
            if (!context.Request.Path.StartsWithSegments("/api"))
            {
                context.Response.Headers.ContentSecurityPolicy = context.Request.Path == "/auth-redirect.html" ? framed : unframed;
                context.Response.Headers.XContentTypeOptions = "nosniff";
            }
            if (context.Request.Path == "/config.json" && HttpMethods.IsGet(context.Request.Method))
            {
                await WebClientConfig(app.Configuration).ExecuteAsync(context);
                return;
            }
            await next(context);
        });
        var files = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(root);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
        app.MapGet("/kiosk", () => Results.File(Path.Combine(root, "kiosk.html"), "text/html; charset=utf-8"));
        app.MapGet("/monitor", () => Results.File(Path.Combine(root, "monitor.html"), "text/html; charset=utf-8"));
        app.Logger.LogInformation("Serving the web client from {Root}: /kiosk and /monitor", root);
    }

    /// <summary>
    /// clients/web/csp.json's policy for the pages served here, with <c>{ancestors}</c> left for the page: the API is this
    /// origin; connections may also go to the Web PubSub endpoint (http and ws) and, when Entra sign-in is set up, its
    /// authority (also in a frame, with this origin, where MSAL's hidden renewal frame comes back).
    /// </summary>
    private static string ContentSecurityPolicy(string root, string contentRoot, IConfiguration configuration, Uri webPubSub)
    {
        static string? Origin(string? url) => Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.GetLeftPart(UriPartial.Authority) : null;
        // Beside dist/ when serving the built pages; else the repository's, found as the pages are.
        var file = new[] { Path.Combine(root, "..", "csp.json"), Path.Combine(FindWebRoot(contentRoot) ?? root, "..", "csp.json") }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"clients/web/csp.json (the pages' Content-Security-Policy) was not found beside {root}.");
        var policy = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("policy").GetString()!;
        var pubsub = webPubSub.GetLeftPart(UriPartial.Authority);
        var entra = Origin(configuration["WebClient:Entra:Authority"]);
        var connect = new[] { pubsub, "ws" + pubsub[4..], entra }.Where(o => o is not null).Distinct();
        return policy.Replace("{connect}", string.Join(' ', connect), StringComparison.Ordinal).Replace("{frame}", entra is null ? "'none'" : $"{entra} 'self'", StringComparison.Ordinal).Replace(" ;", ";", StringComparison.Ordinal);
    }

    private static IResult WebClientConfig(IConfiguration configuration)
    {
        var entra = configuration.GetSection("WebClient:Entra");
        return Results.Json(new
        {
            apiBaseUrl = "",
            entra = string.IsNullOrEmpty(entra["ClientId"]) ? null : new
            {
                clientId = entra["ClientId"],
                authority = entra["Authority"],
                scope = entra["Scope"],
                knownAuthorities = (entra["KnownAuthorities"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            },
        });
    }

    private static string? FindWebRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "clients", "web", "dist");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}
