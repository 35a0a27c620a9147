namespace RailCloud.Testing;

public static class RepoPaths
{
    /// <summary>The repository root: the folder above the test binaries that holds RailCloud.sln.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RailCloud.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"RailCloud.sln was not found above {AppContext.BaseDirectory}.");
    }
}
