using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RailCloud.Protocol;

/// <summary>
/// The contract for the web pages, written from this assembly: <c>clients/web/src/protocol.ts</c> is its output
/// (a test fails when the two differ). Every record becomes an interface with the contract's JSON names; the error
/// codes, end reasons and event names become unions of literals; server messages become one union discriminated by
/// <c>event</c>, and each client event is mapped to the record its data is.
/// </summary>
public static class TypeScriptContract
{
    private static readonly NullabilityInfoContext Nullability = new();

    /// <summary>The unions of constants, by the class that holds them.</summary>
    private static readonly Dictionary<Type, string> Unions = new()
    {
        [typeof(ErrorCodes)] = "ErrorCode",
        [typeof(EndReasons)] = "EndReason",
        [typeof(Roles)] = "Role",
    };

    public static string Generate()
    {
        var text = new StringBuilder();
        text.AppendLine("// RailCloud's wire contract for the pages, generated from RailCloud.Protocol (TypeScriptContract.cs): do not edit.");
        text.AppendLine("// Regenerate with: RAILCLOUD_WRITE_PROTOCOL_TS=1 dotnet test tests/RailCloud.Protocol.Tests");
        text.AppendLine();
        Union(text, Unions[typeof(ErrorCodes)], "A refusal's stable code (an error reply's code, or a problem's over HTTP).", Constants(typeof(ErrorCodes)));
        Union(text, Unions[typeof(EndReasons)], "Why a monitoring session ended.", Constants(typeof(EndReasons)));
        Union(text, Unions[typeof(Roles)], "An account's role.", Constants(typeof(Roles)));
        Union(text, "ClientEvent", "The events a client may send.", [.. Events.DataOf.Keys]);

        var records = typeof(ServerMessage).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(ServerMessage).Namespace && IsRecord(t) && !t.IsAbstract && t.IsPublic)
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .ToList();
        foreach (var record in records)
        {
            Interface(text, record);
        }

        text.AppendLine("/** The data of each client event. */");
        text.AppendLine("export interface ClientEventData {");
        foreach (var (name, type) in Events.DataOf)
        {
            text.AppendLine($"  \"{name}\": {type.Name};");
        }
        text.AppendLine("}");
        text.AppendLine();
        var messages = records.Where(r => r.IsSubclassOf(typeof(ServerMessage))).Select(r => r.Name).ToList();
        text.AppendLine("/** Every message the backend sends a client (replies and notifications), told apart by event. */");
        text.AppendLine($"export type ServerMessage =\n  | {string.Join("\n  | ", messages)};");
        text.AppendLine();
        text.AppendLine("/** The messages of one event. */");
        text.AppendLine("export type MessageOf<E extends ServerMessage[\"event\"]> = Extract<ServerMessage, { event: E }>;");
        return text.ToString();
    }

    private static void Union(StringBuilder text, string name, string doc, IEnumerable<string> values)
    {
        text.AppendLine($"/** {doc} */");
        text.AppendLine($"export type {name} =\n  | {string.Join("\n  | ", values.Select(v => $"\"{v}\""))};");
        text.AppendLine();
    }

    private static IEnumerable<string> Constants(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral && f.FieldType == typeof(string)).Select(f => (string)f.GetRawConstantValue()!);

    private static void Interface(StringBuilder text, Type record)
    {
        var properties = record.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetMethod is not null && p.Name != "EqualityContract").ToList();
        if (properties.Count == 0)
        {
            text.AppendLine($"export type {record.Name} = Record<string, never>;");
            text.AppendLine();
            return;
        }
        text.AppendLine($"export interface {record.Name} {{");
        var parameters = record.GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault()?.GetParameters() ?? [];
        foreach (var property in properties)
        {
            if (property.GetCustomAttribute<JsonIgnoreAttribute>() is { Condition: JsonIgnoreCondition.Always })
            {
                continue;
            }
            var jsonName = property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.CamelCase.ConvertName(property.Name);
            var parameter = parameters.FirstOrDefault(p => p.Name == property.Name);
            text.AppendLine($"  {jsonName}{Shape(record, property, parameter)};");
        }
        text.AppendLine("}");
        text.AppendLine();
    }

    /// <summary>
    /// How a property is written: <c>event</c> as its literals; a computed constant as its literal; a nullable value as
    /// optional (the contract leaves nulls out) unless it is always written; and every other value as required.
    /// </summary>
    private static string Shape(Type record, PropertyInfo property, ParameterInfo? parameter)
    {
        if (property.Name == nameof(ServerMessage.Event) && record.GetCustomAttribute<WireEventAttribute>() is { } wire)
        {
            return ": " + string.Join(" | ", wire.Names.Select(n => $"\"{n}\""));
        }
        if (parameter is null && property.PropertyType == typeof(string) && property.SetMethod is null)
        {
            // A constant the record computes (RegisteredKiosk's role).
            return $": \"{property.GetValue(RuntimeHelpers.GetUninitializedObject(record))}\"";
        }
        if (property.GetCustomAttribute<OneOfAttribute>() is { } oneOf)
        {
            return ": " + Unions[oneOf.Constants];
        }
        var nullable = Nullability.Create(property).ReadState == NullabilityState.Nullable;
        var alwaysWritten = property.GetCustomAttribute<JsonIgnoreAttribute>() is { Condition: JsonIgnoreCondition.Never };
        var type = TypeOf(property.PropertyType);
        return (nullable, alwaysWritten, parameter?.HasDefaultValue == true, IsRequest(record)) switch
        {
            (true, true, _, _) => $"?: {type} | null",
            (true, false, _, true) when parameter?.HasDefaultValue != true => $": {type}",   // a request's field the server requires
            (true, _, _, _) => $"?: {type}",
            _ => $": {type}",
        };
    }

    /// <summary>A record clients send (the data of a client event, or what it is made of).</summary>
    private static bool IsRequest(Type record) =>
        Events.DataOf.Values.Contains(record) || record == typeof(SessionDescription) || record == typeof(IceCandidateInit);

    private static string TypeOf(Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(string) || underlying == typeof(DateTimeOffset))
        {
            return "string";
        }
        if (underlying == typeof(bool))
        {
            return "boolean";
        }
        if (underlying == typeof(int) || underlying == typeof(long) || underlying == typeof(double))
        {
            return "number";
        }
        var list = underlying.IsGenericType ? underlying.GetGenericArguments() : [];
        if (list.Length == 1 && typeof(System.Collections.IEnumerable).IsAssignableFrom(underlying))
        {
            return TypeOf(list[0]) + "[]";
        }
        return IsRecord(underlying) ? underlying.Name : throw new NotSupportedException($"No TypeScript for {underlying} in the contract.");
    }

    private static bool IsRecord(Type type) => type.GetMethod("<Clone>$") is not null;
}
