using System.Diagnostics;

namespace RailCloud.Testing;

/// <summary>Runs a Node.js script from the repository with the root's node_modules; a missing Node or package is a failure, never a skip.</summary>
public static class NodeScript
{
    public static Task<ToolRun.Result> RunAsync(string scriptPath, IDictionary<string, string> environment, TimeSpan timeout, params string[] arguments)
    {
        var modules = Path.Combine(RepoPaths.Root, "node_modules", "@azure", "web-pubsub-client");
        if (!Directory.Exists(modules))
        {
            throw new InvalidOperationException($"npm packages are not installed ({modules} is missing): run 'npm ci' in {RepoPaths.Root}, or use the README's test command, which does.");
        }
        var start = new ProcessStartInfo("node", [Path.Combine(RepoPaths.Root, scriptPath), .. arguments]);
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        return ToolRun.RunAsync(start, timeout, "Node.js is not installed or not on PATH; the tests that run scripts need it.");
    }
}
