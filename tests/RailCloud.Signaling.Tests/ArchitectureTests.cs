using System.Reflection;
using ArchUnitNET.Domain;
using ArchUnitNET.Loader;
using ArchUnitNET.xUnit;
using RailCloud.Testing;
using static ArchUnitNET.Fluent.ArchRuleDefinition;
using static ArchUnitNET.Fluent.Slices.SliceRuleDefinition;

namespace RailCloud.Signaling.Tests;

/// <summary>
/// The shape the core keeps as it grows: features as folders that depend on each other only as listed here (never
/// in a circle), a Web PubSub client with no RailCloud logic, clients that know the wire contract and not the core,
/// small classes and small files.
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly System.Reflection.Assembly[] Product =
    [
        typeof(DependencyInjection).Assembly,                       // RailCloud.Signaling
        typeof(WebPubSub.WebPubSubServiceClient).Assembly,          // RailCloud.WebPubSub
        typeof(Protocol.Events).Assembly,                           // RailCloud.Protocol
        typeof(Client.RailCloudConnection).Assembly,                // RailCloud.Client
        typeof(Media.WebRtcPeer).Assembly,                          // RailCloud.Media
        typeof(Cli.Args).Assembly,                                  // railcloud
        typeof(LocalHost.LocalHostApp).Assembly,                    // RailCloud.LocalHost
        typeof(Functions.SweepFunction).Assembly,                   // RailCloud.Functions
        typeof(WebPubSubEmulator.EmulatorApp).Assembly,             // RailCloud.WebPubSubEmulator
    ];

    private static readonly Architecture Core = new ArchLoader().LoadAssemblies([.. Product]).Build();

    private const string Features = "RailCloud.Signaling";

    /// <summary>Each folder of the core and the folders it may use. The root namespace (composition, metrics, ids) is for everyone.</summary>
    public static readonly TheoryData<string, string[]> AllowedDependencies = new()
    {
        { "Storage", [] },
        { "Http", ["Storage"] },
        { "Hub", ["Http", "Storage"] },
        { "Kiosks", ["Hub", "Http", "Storage"] },
        { "Accounts", ["Kiosks", "Hub", "Http", "Storage"] },
        { "Sessions", ["Kiosks", "Hub", "Http", "Storage"] },
        { "Devices", ["Accounts", "Kiosks", "Hub", "Http", "Storage"] },
    };

    private static readonly string[] Folders = ["Storage", "Http", "Hub", "Kiosks", "Accounts", "Sessions", "Devices"];

    [Theory]
    [MemberData(nameof(AllowedDependencies))]
    public void EachFolderOfTheCoreUsesOnlyTheFoldersListedForIt(string folder, string[] allowed)
    {
        Assert.Contains(folder, Folders);
        foreach (var other in Folders.Where(f => f != folder && !allowed.Contains(f)))
        {
            Types().That().ResideInNamespace($"{Features}.{folder}")
                .Should().NotDependOnAny(Types().That().ResideInNamespace($"{Features}.{other}"))
                .Because($"{folder} may use only {(allowed.Length == 0 ? "the root of the core" : string.Join(", ", allowed))}")
                .Check(Core);
        }
    }

    [Fact]
    public void EveryFolderOfTheCoreHasItsListedDependencies() =>
        Assert.Equal(Folders.Order(), Core.Namespaces.Select(n => n.FullName).Where(n => n.StartsWith(Features + ".", StringComparison.Ordinal)).Select(n => n[(Features.Length + 1)..]).Order());

    [Fact]
    public void NoFoldersOfTheCoreDependOnEachOtherInACircle() =>
        Slices().Matching($"{Features}.(*)").Should().BeFreeOfCycles().Check(Core);

    [Fact]
    public void TheWebPubSubClientKnowsNothingOfRailCloud() =>
        Types().That().ResideInNamespace("RailCloud.WebPubSub")
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(@"^RailCloud\.Signaling(\..*)?$").Or().ResideInNamespace("RailCloud.Protocol"))
            .Check(Core);

    [Fact]
    public void TheClientSdkKnowsTheWireContractNotTheCore() =>
        Types().That().ResideInNamespace("RailCloud.Client")
            .Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(@"^RailCloud\.Signaling(\..*)?$").Or().ResideInNamespace("RailCloud.WebPubSub"))
            .Check(Core);

    [Fact]
    public void TheCommandLineUsesOnlyTheAccountsFeaturesSurfaceForToolsOfTheCore()
    {
        var allowed = new[] { typeof(Accounts.AccountAdministration), typeof(Accounts.AccountListing) };
        var used = Core.Types.Where(t => t.Namespace?.FullName.StartsWith("RailCloud.Cli", StringComparison.Ordinal) == true)
            .SelectMany(t => t.Dependencies.Select(d => d.Target))
            .Where(t => t.Namespace?.FullName.StartsWith(Features, StringComparison.Ordinal) == true)
            .Select(t => t.FullName).Distinct().Order().ToList();

        Assert.Equal(allowed.Select(t => t.FullName!).Order(), used);
    }

    [Fact]
    public void NoClassTakesMoreThanSixConstructorDependencies()
    {
        var heavy = Product.SelectMany(a => a.GetTypes())
            .Where(t => t is { IsClass: true, IsAbstract: false } && !IsRecord(t) && !typeof(Exception).IsAssignableFrom(t) && t.GetCustomAttribute<System.Runtime.CompilerServices.CompilerGeneratedAttribute>() is null)
            .Select(t => (Type: t, Most: t.GetConstructors().Select(c => c.GetParameters().Length).DefaultIfEmpty(0).Max()))
            .Where(t => t.Most > 6)
            .Select(t => $"{t.Type.FullName}: {t.Most}")
            .ToList();

        Assert.True(heavy.Count == 0, "Constructors with more than 6 dependencies:\n" + string.Join("\n", heavy));
    }

    [Fact]
    public void NoProductSourceFileIsOver400Lines()
    {
        string[] roots = ["functions", "clients", "tools"];
        var files = roots.SelectMany(r => Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, r), "*.*", SearchOption.AllDirectories))
            .Where(f => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".ts", StringComparison.Ordinal))
            .Where(f => !Path.GetRelativePath(RepoPaths.Root, f).Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj" or "node_modules" or "dist"))
            .ToList();
        var long_ = files.Select(f => (File: Path.GetRelativePath(RepoPaths.Root, f), Lines: File.ReadLines(f).Count())).Where(f => f.Lines > 400).Select(f => $"{f.File}: {f.Lines}").ToList();

        Assert.NotEmpty(files);
        Assert.True(long_.Count == 0, "Files over 400 lines:\n" + string.Join("\n", long_));
    }

    /// <summary>A record's compiler-made clone method: records are data, not services, however many fields they carry.</summary>
    private static bool IsRecord(System.Type type) => type.GetMethod("<Clone>$") is not null;
}
