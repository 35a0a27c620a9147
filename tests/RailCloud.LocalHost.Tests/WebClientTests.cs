using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace RailCloud.LocalHost.Tests;

/// <summary>How the local host serves the pages.</summary>
public sealed class WebClientTests
{
    [Fact]
    public async Task ConfigJsonComesFromTheLocalSettingsEvenWhenADeploymentLeftOneInTheWebRoot()
    {
        // After `azd up`, clients/web/static/config.json names the Azure API; the next local build copies it along.
        var root = Directory.CreateTempSubdirectory("railcloud-web-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(root.FullName, "config.json"), """{"apiBaseUrl":"https://func-railcloud.azurewebsites.net","entra":null}""");
            await File.WriteAllTextAsync(Path.Combine(root.FullName, "monitor.html"), "<!doctype html><title>RailCloud monitor</title>");
            await using var stack = await RailCloudStack.StartAsync(new Dictionary<string, string?> { ["WebClient:Root"] = root.FullName });

            var config = await stack.Api.Http.GetFromJsonAsync<JsonObject>("config.json");
            using var monitor = await stack.Api.Http.GetAsync("monitor");

            Assert.Equal("", (string?)config!["apiBaseUrl"]);
            Assert.Equal(HttpStatusCode.OK, monitor.StatusCode);
            Assert.Contains("RailCloud monitor", await monitor.Content.ReadAsStringAsync());
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }
}
