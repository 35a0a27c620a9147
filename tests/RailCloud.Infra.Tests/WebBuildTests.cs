using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using RailCloud.Testing;

namespace RailCloud.Infra.Tests;

/// <summary>
/// azd builds the <c>web</c> service by running <c>npm install</c> and then <c>npm run build</c> in clients/web
/// (azure-dev, framework_service_node.go), and deploys its dist folder. Both ways it can meet that folder are tried
/// here: inside a fresh copy of the repository, and copied out on its own.
/// </summary>
public sealed class WebBuildTests
{
    private static readonly string[] Pages = ["kiosk.html", "monitor.html", "auth-redirect.html", "kiosk.js", "monitor.js", "auth-redirect.js", "staticwebapp.config.json"];

    private static async Task<(int ExitCode, string Output)> RunAsync(string folder, string file, params string[] args)
    {
        var start = new ProcessStartInfo(file, args) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment.Remove("npm_config_prefix");
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} could not be started.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await errors);
    }

    private static async Task AssertAzdBuildsAsync(string web)
    {
        var install = await RunAsync(web, "npm", "install", "--no-audit", "--no-fund");
        Assert.True(install.ExitCode == 0, "npm install:\n" + install.Output);
        var build = await RunAsync(web, "npm", "run", "build");
        Assert.True(build.ExitCode == 0, "npm run build:\n" + build.Output);
        Assert.All(Pages, page => Assert.True(File.Exists(Path.Combine(web, "dist", page)), $"dist/{page} is missing"));
    }

    [Fact]
    public async Task TheWebServiceBuildsInAFreshCopyOfTheRepository()
    {
        var copy = Directory.CreateTempSubdirectory("railcloud-azd-web-");
        try
        {
            var (_, files) = await RunAsync(RepoPaths.Root, "git", "ls-files", "--cached", "--others", "--exclude-standard");
            foreach (var file in files.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(f => File.Exists(Path.Combine(RepoPaths.Root, f))))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(copy.FullName, file))!);
                File.Copy(Path.Combine(RepoPaths.Root, file), Path.Combine(copy.FullName, file));
            }
            Assert.False(Directory.Exists(Path.Combine(copy.FullName, "node_modules")));

            await AssertAzdBuildsAsync(Path.Combine(copy.FullName, "clients", "web"));
        }
        finally
        {
            copy.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task TheWebFolderBuildsOnItsOwnBecauseItDeclaresWhatItImports()
    {
        var web = Path.Combine(RepoPaths.Root, "clients", "web");
        var declared = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(web, "package.json")))!["dependencies"]!.AsObject().Select(d => d.Key).ToHashSet();
        var sources = Directory.GetFiles(Path.Combine(web, "src"), "*.ts").Append(Path.Combine(web, "build.mjs"));
        var imported = sources.SelectMany(f => Regex.Matches(File.ReadAllText(f), "(?:from|import\\()\\s*\"((?:@[^/\"]+/)?[^./\"][^/\"]*)").Select(m => m.Groups[1].Value))
            .Where(name => !name.StartsWith("node:", StringComparison.Ordinal)).ToHashSet();
        Assert.Contains("esbuild", imported);
        Assert.All(imported, name => Assert.Contains(name, declared));

        var alone = Directory.CreateTempSubdirectory("railcloud-web-alone-");
        try
        {
            foreach (var file in Directory.GetFiles(web, "*", SearchOption.AllDirectories)
                .Where(f => !Path.GetRelativePath(web, f).Split(Path.DirectorySeparatorChar).Any(p => p is "dist" or "node_modules")))
            {
                var target = Path.Combine(alone.FullName, Path.GetRelativePath(web, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
            // As the prepackage hook leaves it: the Static Web App's CSP then admits exactly these origins.
            await File.WriteAllTextAsync(Path.Combine(alone.FullName, "static", "config.json"),
                """{"apiBaseUrl":"https://func-abc.azurewebsites.net","webPubSubEndpoint":"https://wps-abc.webpubsub.azure.com","entra":{"clientId":"c","authority":"https://login.microsoftonline.com/t","scope":"c/.default"}}""");
            await AssertAzdBuildsAsync(alone.FullName);
            var swa = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(alone.FullName, "dist", "staticwebapp.config.json")))!;
            var policy = (string)swa["globalHeaders"]!["Content-Security-Policy"]!;
            Assert.Contains("script-src 'self';", policy);
            Assert.Contains("connect-src 'self' https://func-abc.azurewebsites.net https://wps-abc.webpubsub.azure.com wss://wps-abc.webpubsub.azure.com https://login.microsoftonline.com;", policy);
            Assert.Contains("frame-src https://login.microsoftonline.com 'self';", policy);
            Assert.Contains("frame-ancestors 'none'", policy);
            Assert.DoesNotContain("unsafe", policy);
            // MSAL's hidden renewal frame lands on auth-redirect.html: that page alone may be framed, by this site alone.
            var bridge = Assert.Single(swa["routes"]!.AsArray(), r => (string?)r!["route"] == "/auth-redirect.html")!;
            var bridgePolicy = (string)bridge["headers"]!["Content-Security-Policy"]!;
            Assert.Equal(policy.Replace("frame-ancestors 'none'", "frame-ancestors 'self'", StringComparison.Ordinal), bridgePolicy);
            Assert.Equal(0, swa["routes"]!.AsArray().IndexOf(bridge));   // the first route that matches wins
        }
        finally
        {
            alone.Delete(recursive: true);
        }
    }
}
