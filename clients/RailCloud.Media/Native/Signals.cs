using System.Runtime.InteropServices;
using RailCloud.Media;

namespace RailCloud.Media.Native;

/// <summary>
/// Emits a GObject action signal without a variadic call: g_signal_lookup and g_signal_query give the signal's
/// parameter types, each argument goes into a zeroed GValue of that type, and g_signal_emitv takes the array. This
/// works on every platform and ABI, unlike a fixed-arity import of g_signal_emit_by_name.
/// </summary>
internal static class Signals
{
    /// <summary>Emits <paramref name="name"/> on <paramref name="instance"/>; returns the signal's boolean or object result (an owned reference), if any.</summary>
    public static (bool Boolean, IntPtr Object) Emit(IntPtr instance, string name, params object?[] args)
    {
        var instanceType = GObject.TypeOf(instance);
        var id = GObject.SignalLookup(name, instanceType);
        if (id == 0)
        {
            throw new MediaException($"GStreamer has no signal '{name}' on {Marshal.PtrToStringUTF8(GObject.TypeName(instanceType))}.");
        }
        GObject.SignalQuery(id, out var query);
        if (query.ParameterCount != args.Length)
        {
            throw new MediaException($"Signal '{name}' takes {query.ParameterCount} arguments, not {args.Length}.");
        }
        var values = Marshal.AllocHGlobal(GObject.ValueSize * (args.Length + 1));
        var result = Marshal.AllocHGlobal(GObject.ValueSize);
        var initialised = 0;
        try
        {
            Zero(values, GObject.ValueSize * (args.Length + 1));
            Zero(result, GObject.ValueSize);
            GObject.ValueInit(values, instanceType);
            GObject.ValueSetObject(values, instance);
            initialised = 1;
            for (var i = 0; i < args.Length; i++)
            {
                var type = (nuint)Marshal.ReadIntPtr(query.ParameterTypes, i * IntPtr.Size) & ~GObject.StaticScope;
                var value = values + GObject.ValueSize * (i + 1);
                GObject.ValueInit(value, type);
                initialised++;
                Set(value, GObject.TypeFundamental(type), args[i], name);
            }
            var returns = query.ReturnType & ~GObject.StaticScope;
            if (returns != GObject.TypeNone)
            {
                GObject.ValueInit(result, returns);
            }
            GObject.SignalEmitv(values, id, 0, returns == GObject.TypeNone ? IntPtr.Zero : result);
            if (returns == GObject.TypeNone)
            {
                return (false, IntPtr.Zero);
            }
            var fundamental = GObject.TypeFundamental(returns);
            var outcome = fundamental == GObject.TypeBoolean ? (GObject.ValueGetBoolean(result) != 0, IntPtr.Zero)
                : fundamental == GObject.TypeObject ? (false, GObject.ValueDupObject(result))
                : (false, IntPtr.Zero);
            GObject.ValueUnset(result);
            return outcome;
        }
        finally
        {
            for (var i = 0; i < initialised; i++)
            {
                GObject.ValueUnset(values + GObject.ValueSize * i);
            }
            Marshal.FreeHGlobal(values);
            Marshal.FreeHGlobal(result);
        }
    }

    private static void Set(IntPtr value, nuint fundamental, object? arg, string signal)
    {
        switch (fundamental)
        {
            case GObject.TypeUInt:
                GObject.ValueSetUInt(value, Convert.ToUInt32(arg, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case GObject.TypeInt:
                GObject.ValueSetInt(value, Convert.ToInt32(arg, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case GObject.TypeEnum:
                GObject.ValueSetEnum(value, Convert.ToInt32(arg, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case GObject.TypeString:
                GObject.ValueSetString(value, (string?)arg);
                break;
            case GObject.TypeBoxed:
                GObject.ValueSetBoxed(value, (IntPtr)(arg ?? IntPtr.Zero));
                break;
            case GObject.TypeObject:
                GObject.ValueSetObject(value, (IntPtr)(arg ?? IntPtr.Zero));
                break;
            case GObject.TypePointer:
                GObject.ValueSetPointer(value, (IntPtr)(arg ?? IntPtr.Zero));
                break;
            default:
                throw new MediaException($"Signal '{signal}' has a parameter of a kind this layer does not pass (fundamental type {fundamental}).");
        }
    }

    private static void Zero(IntPtr memory, int bytes)
    {
        unsafe
        {
            new Span<byte>((void*)memory, bytes).Clear();
        }
    }
}
