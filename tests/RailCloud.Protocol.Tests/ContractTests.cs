using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using RailCloud.Testing;

namespace RailCloud.Protocol.Tests;

/// <summary>One wire contract: the pages' protocol.ts is written from these records, and says what they say.</summary>
public sealed class ContractTests
{
    private static readonly string ProtocolTs = Path.Combine(RepoPaths.Root, "clients", "web", "src", "protocol.ts");

    [Fact]
    public void ThePagesProtocolIsTheOneTheRecordsGive()
    {
        var expected = TypeScriptContract.Generate();
        if (Environment.GetEnvironmentVariable("RAILCLOUD_WRITE_PROTOCOL_TS") == "1")
        {
            File.WriteAllText(ProtocolTs, expected);
        }

        Assert.True(File.Exists(ProtocolTs), "clients/web/src/protocol.ts is missing: RAILCLOUD_WRITE_PROTOCOL_TS=1 dotnet test tests/RailCloud.Protocol.Tests");
        Assert.True(File.ReadAllText(ProtocolTs) == expected,
            "clients/web/src/protocol.ts and RailCloud.Protocol have drifted apart; regenerate it: RAILCLOUD_WRITE_PROTOCOL_TS=1 dotnet test tests/RailCloud.Protocol.Tests");
    }

    /// <summary>Each server message names its event in <see cref="WireEventAttribute"/>, and its constructor really puts that on the wire.</summary>
    [Fact]
    public void EveryServerMessageSaysWhichEventItIsAndSerializesAsThat()
    {
        var messages = typeof(ServerMessage).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(ServerMessage)) && !t.IsAbstract).ToList();

        Assert.NotEmpty(messages);
        foreach (var type in messages)
        {
            var wire = type.GetCustomAttribute<WireEventAttribute>();
            Assert.True(wire is not null, $"{type.Name} has no [WireEvent]");
            var constructor = type.GetConstructors().Single();
            var arguments = constructor.GetParameters().Select(p => p.Name == "Event" ? wire.Names[0] : Sample(p.ParameterType)).ToArray();
            var json = JsonDocument.Parse(ProtocolJson.Serialize((ServerMessage)constructor.Invoke(arguments)));
            Assert.Contains(json.RootElement.GetProperty("event").GetString(), wire.Names);
        }
    }

    [Fact]
    public void EveryClientEventHasTheRecordItsDataIs() =>
        Assert.Equal(Events.FromClients.Order(), Events.DataOf.Keys.Order());

    private static object? Sample(Type type) =>
        type == typeof(string) ? "x" : type.IsValueType ? Activator.CreateInstance(type) : type.IsGenericType ? null : RuntimeHelpers.GetUninitializedObject(type);
}
