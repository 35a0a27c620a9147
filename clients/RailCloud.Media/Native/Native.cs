using System.Runtime.InteropServices;

namespace RailCloud.Media.Native;

// The C functions this library calls, as GStreamer 1.22 and GLib 2.74 declare them. Every gchar* that comes back is
// an IntPtr, read with PtrToStringUTF8 and freed with g_free by whoever owns it; nothing variadic is imported (signals
// are emitted with g_signal_emitv, structures read field by field).

internal static partial class GLib
{
    private const string Lib = "libglib-2.0.so.0";

    [LibraryImport(Lib, EntryPoint = "g_free")]
    internal static partial void Free(IntPtr memory);

    [LibraryImport(Lib, EntryPoint = "g_error_free")]
    internal static partial void ErrorFree(IntPtr error);

    /// <summary>A GError's message (offset 8: after the 4-byte domain quark and the 4-byte code), then frees it.</summary>
    internal static string TakeError(IntPtr error)
    {
        if (error == IntPtr.Zero)
        {
            return "unknown error";
        }
        var message = Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(error, 8)) ?? "unknown error";
        ErrorFree(error);
        return message;
    }

    /// <summary>A transfer-full gchar* as a string, freed.</summary>
    internal static string? TakeString(IntPtr text)
    {
        if (text == IntPtr.Zero)
        {
            return null;
        }
        var value = Marshal.PtrToStringUTF8(text);
        Free(text);
        return value;
    }
}

/// <summary>GLib's main contexts: where an asynchronous call made on a thread reports back.</summary>
internal static partial class GMain
{
    private const string Lib = "libglib-2.0.so.0";

    [LibraryImport(Lib, EntryPoint = "g_main_context_new")]
    internal static partial IntPtr ContextNew();

    [LibraryImport(Lib, EntryPoint = "g_main_context_push_thread_default")]
    internal static partial void PushThreadDefault(IntPtr context);

    [LibraryImport(Lib, EntryPoint = "g_main_context_pop_thread_default")]
    internal static partial void PopThreadDefault(IntPtr context);

    [LibraryImport(Lib, EntryPoint = "g_main_context_iteration")]
    internal static partial int Iteration(IntPtr context, int mayBlock);

    [LibraryImport(Lib, EntryPoint = "g_main_context_unref")]
    internal static partial void ContextUnref(IntPtr context);
}

/// <summary>libnice, the ICE agent inside webrtcbin.</summary>
internal static partial class Nice
{
    private const string Lib = "libnice.so.10";

    /// <summary>Removes the agent's streams and releases what it holds on servers (TURN allocations, by a refresh with lifetime 0); the callback comes in the calling thread's default main context.</summary>
    [LibraryImport(Lib, EntryPoint = "nice_agent_attach_recv")]
    internal static unsafe partial int AgentAttachRecv(IntPtr agent, uint streamId, uint componentId, IntPtr context, delegate* unmanaged<IntPtr, uint, uint, uint, IntPtr, IntPtr, void> callback, IntPtr data);

    [LibraryImport(Lib, EntryPoint = "nice_agent_close_async")]
    internal static unsafe partial void AgentCloseAsync(IntPtr agent, delegate* unmanaged<IntPtr, IntPtr, IntPtr, void> callback, IntPtr data);
}

internal static partial class GObject
{
    private const string Lib = "libgobject-2.0.so.0";

    /// <summary>GValue: a GType and two 8-byte data words, 24 bytes on 64-bit; zeroed before g_value_init.</summary>
    internal const int ValueSize = 24;

    // Fundamental types: G_TYPE_MAKE_FUNDAMENTAL(x) = x << 2.
    internal const nuint TypeNone = 1 << 2;
    internal const nuint TypeBoolean = 5 << 2;
    internal const nuint TypeInt = 6 << 2;
    internal const nuint TypeUInt = 7 << 2;
    internal const nuint TypeEnum = 12 << 2;
    internal const nuint TypeString = 16 << 2;
    internal const nuint TypePointer = 17 << 2;
    internal const nuint TypeBoxed = 18 << 2;
    internal const nuint TypeObject = 20 << 2;

    /// <summary>G_SIGNAL_TYPE_STATIC_SCOPE, set on parameter types that need no copy.</summary>
    internal const nuint StaticScope = 1;

    [StructLayout(LayoutKind.Sequential)]
    internal struct SignalInfo
    {
        public uint SignalId;
        public IntPtr SignalName;
        public nuint InstanceType;
        public int SignalFlags;
        public nuint ReturnType;
        public uint ParameterCount;
        public IntPtr ParameterTypes;
    }

    [LibraryImport(Lib, EntryPoint = "g_signal_connect_data", StringMarshalling = StringMarshalling.Utf8)]
    internal static unsafe partial ulong SignalConnectData(IntPtr instance, string detailedSignal, void* handler, IntPtr data, IntPtr destroyData, int connectFlags);

    [LibraryImport(Lib, EntryPoint = "g_signal_handler_disconnect")]
    internal static partial void SignalHandlerDisconnect(IntPtr instance, ulong handlerId);

    [LibraryImport(Lib, EntryPoint = "g_signal_lookup", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial uint SignalLookup(string name, nuint instanceType);

    [LibraryImport(Lib, EntryPoint = "g_signal_query")]
    internal static partial void SignalQuery(uint signalId, out SignalInfo query);

    [LibraryImport(Lib, EntryPoint = "g_signal_emitv")]
    internal static partial void SignalEmitv(IntPtr instanceAndParams, uint signalId, uint detail, IntPtr returnValue);

    [LibraryImport(Lib, EntryPoint = "g_type_fundamental")]
    internal static partial nuint TypeFundamental(nuint type);

    [LibraryImport(Lib, EntryPoint = "g_type_name")]
    internal static partial IntPtr TypeName(nuint type);

    [LibraryImport(Lib, EntryPoint = "g_value_init")]
    internal static partial IntPtr ValueInit(IntPtr value, nuint type);

    [LibraryImport(Lib, EntryPoint = "g_value_unset")]
    internal static partial void ValueUnset(IntPtr value);

    [LibraryImport(Lib, EntryPoint = "g_value_set_object")]
    internal static partial void ValueSetObject(IntPtr value, IntPtr instance);

    [LibraryImport(Lib, EntryPoint = "g_value_set_boxed")]
    internal static partial void ValueSetBoxed(IntPtr value, IntPtr boxed);

    [LibraryImport(Lib, EntryPoint = "g_value_set_uint")]
    internal static partial void ValueSetUInt(IntPtr value, uint number);

    [LibraryImport(Lib, EntryPoint = "g_value_set_int")]
    internal static partial void ValueSetInt(IntPtr value, int number);

    [LibraryImport(Lib, EntryPoint = "g_value_set_enum")]
    internal static partial void ValueSetEnum(IntPtr value, int number);

    [LibraryImport(Lib, EntryPoint = "g_value_set_pointer")]
    internal static partial void ValueSetPointer(IntPtr value, IntPtr pointer);

    [LibraryImport(Lib, EntryPoint = "g_value_set_string", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial void ValueSetString(IntPtr value, string? text);

    [LibraryImport(Lib, EntryPoint = "g_value_get_boolean")]
    internal static partial int ValueGetBoolean(IntPtr value);

    [LibraryImport(Lib, EntryPoint = "g_value_get_uint")]
    internal static partial uint ValueGetUInt(IntPtr value);

    [LibraryImport(Lib, EntryPoint = "g_value_get_object")]
    internal static partial IntPtr ValueGetObject(IntPtr value);

    [LibraryImport(Lib, EntryPoint = "g_value_get_enum")]
    internal static partial int ValueGetEnum(IntPtr value);

    [LibraryImport(Lib, EntryPoint = "g_value_get_string")]
    internal static partial IntPtr ValueGetString(IntPtr value);

    [LibraryImport(Lib, EntryPoint = "g_value_get_boxed")]
    internal static partial IntPtr ValueGetBoxed(IntPtr value);

    [LibraryImport(Lib, EntryPoint = "g_value_dup_object")]
    internal static partial IntPtr ValueDupObject(IntPtr value);

    [LibraryImport(Lib, EntryPoint = "g_object_get_property", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial void ObjectGetProperty(IntPtr instance, string name, IntPtr value);

    [LibraryImport(Lib, EntryPoint = "g_object_unref")]
    internal static partial void ObjectUnref(IntPtr instance);

    /// <summary>
    /// Reads property <paramref name="name"/> of GType <paramref name="type"/> into a GValue on the stack and returns
    /// what <paramref name="read"/> takes from it before the value is unset (copy anything the GValue owns).
    /// </summary>
    internal static unsafe T GetProperty<T>(IntPtr instance, string name, nuint type, Func<IntPtr, T> read)
    {
        var storage = stackalloc long[ValueSize / sizeof(long)];   // zeroed, 8-byte aligned, as g_value_init wants
        var value = (IntPtr)storage;
        ValueInit(value, type);
        try
        {
            ObjectGetProperty(instance, name, value);
            return read(value);
        }
        finally
        {
            ValueUnset(value);
        }
    }

    /// <summary>A string property's value, copied.</summary>
    internal static string? GetStringProperty(IntPtr instance, string name) =>
        GetProperty(instance, name, TypeString, value => Marshal.PtrToStringUTF8(ValueGetString(value)));

    /// <summary>G_TYPE_FROM_INSTANCE: an instance starts with its class pointer, and a class with its GType.</summary>
    internal static nuint TypeOf(IntPtr instance) => (nuint)Marshal.ReadIntPtr(Marshal.ReadIntPtr(instance));

    /// <summary>GParamSpec.value_type: after the type instance (8), the name (8) and the flags (4 + 4 padding).</summary>
    internal static nuint ValueTypeOf(IntPtr paramSpec) => (nuint)Marshal.ReadIntPtr(paramSpec, 24);
}

internal static partial class Gst
{
    private const string Lib = "libgstreamer-1.0.so.0";

    internal enum State
    {
        Null = 1,
        Ready = 2,
        Paused = 3,
        Playing = 4,
    }

    internal const int StateChangeFailure = 0;

    // GstMessageType flags.
    internal const int MessageEos = 1 << 0;
    internal const int MessageError = 1 << 1;
    internal const int MessageWarning = 1 << 2;
    internal const int MessageElement = 1 << 15;

    internal const ulong ClockTimeNone = ulong.MaxValue;

    [LibraryImport(Lib, EntryPoint = "gst_init_check")]
    internal static partial int InitCheck(IntPtr argc, IntPtr argv, out IntPtr error);

    [LibraryImport(Lib, EntryPoint = "gst_parse_launch", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr ParseLaunch(string description, out IntPtr error);

    [LibraryImport(Lib, EntryPoint = "gst_parse_bin_from_description", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr ParseBinFromDescription(string description, int ghostUnlinkedPads, out IntPtr error);

    [LibraryImport(Lib, EntryPoint = "gst_pipeline_new", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr PipelineNew(string? name);

    [LibraryImport(Lib, EntryPoint = "gst_element_factory_make", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr ElementFactoryMake(string factory, string? name);

    [LibraryImport(Lib, EntryPoint = "gst_element_factory_find", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr ElementFactoryFind(string name);

    [LibraryImport(Lib, EntryPoint = "gst_bin_get_by_name", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr BinGetByName(IntPtr bin, string name);

    [LibraryImport(Lib, EntryPoint = "gst_bin_iterate_all_by_element_factory_name", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr BinIterateAllByElementFactoryName(IntPtr bin, string factoryName);

    /// <summary>GstIteratorResult: 0 done, 1 ok (the value holds the next item), 2 resync, 3 error.</summary>
    [LibraryImport(Lib, EntryPoint = "gst_iterator_next")]
    internal static partial int IteratorNext(IntPtr iterator, IntPtr value);

    [LibraryImport(Lib, EntryPoint = "gst_iterator_free")]
    internal static partial void IteratorFree(IntPtr iterator);

    /// <summary>Every element made by <paramref name="factory"/> anywhere inside <paramref name="bin"/>, each passed (borrowed) to <paramref name="visit"/>.</summary>
    internal static unsafe void ForEachElement(IntPtr bin, string factory, Action<IntPtr> visit)
    {
        var iterator = BinIterateAllByElementFactoryName(bin, factory);
        if (iterator == IntPtr.Zero)
        {
            return;
        }
        var storage = stackalloc long[GObject.ValueSize / sizeof(long)];
        var value = (IntPtr)storage;
        try
        {
            while (IteratorNext(iterator, value) == 1)
            {
                visit(GObject.ValueGetObject(value));
                GObject.ValueUnset(value);
            }
        }
        finally
        {
            IteratorFree(iterator);
        }
    }

    [LibraryImport(Lib, EntryPoint = "gst_bin_add")]
    internal static partial int BinAdd(IntPtr bin, IntPtr element);

    [LibraryImport(Lib, EntryPoint = "gst_element_set_state")]
    internal static partial int ElementSetState(IntPtr element, State state);

    [LibraryImport(Lib, EntryPoint = "gst_element_sync_state_with_parent")]
    internal static partial int ElementSyncStateWithParent(IntPtr element);

    [LibraryImport(Lib, EntryPoint = "gst_element_get_static_pad", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr ElementGetStaticPad(IntPtr element, string name);

    [LibraryImport(Lib, EntryPoint = "gst_element_get_bus")]
    internal static partial IntPtr ElementGetBus(IntPtr element);

    [LibraryImport(Lib, EntryPoint = "gst_pad_link")]
    internal static partial int PadLink(IntPtr source, IntPtr sink);

    [LibraryImport(Lib, EntryPoint = "gst_pad_get_current_caps")]
    internal static partial IntPtr PadGetCurrentCaps(IntPtr pad);

    [LibraryImport(Lib, EntryPoint = "gst_object_unref")]
    internal static partial void ObjectUnref(IntPtr instance);

    [LibraryImport(Lib, EntryPoint = "gst_object_ref_sink")]
    internal static partial IntPtr ObjectRefSink(IntPtr instance);

    [LibraryImport(Lib, EntryPoint = "gst_mini_object_unref")]
    internal static partial void MiniObjectUnref(IntPtr instance);

    [LibraryImport(Lib, EntryPoint = "gst_bus_timed_pop_filtered")]
    internal static partial IntPtr BusTimedPopFiltered(IntPtr bus, ulong timeoutNanoseconds, int types);

    [LibraryImport(Lib, EntryPoint = "gst_message_parse_error")]
    internal static partial void MessageParseError(IntPtr message, out IntPtr error, out IntPtr debug);

    [LibraryImport(Lib, EntryPoint = "gst_message_parse_warning")]
    internal static partial void MessageParseWarning(IntPtr message, out IntPtr error, out IntPtr debug);

    [LibraryImport(Lib, EntryPoint = "gst_promise_new")]
    internal static partial IntPtr PromiseNew();

    [LibraryImport(Lib, EntryPoint = "gst_promise_wait")]
    internal static partial int PromiseWait(IntPtr promise);

    [LibraryImport(Lib, EntryPoint = "gst_promise_get_reply")]
    internal static partial IntPtr PromiseGetReply(IntPtr promise);

    [LibraryImport(Lib, EntryPoint = "gst_promise_unref")]
    internal static partial void PromiseUnref(IntPtr promise);

    internal const int PromiseReplied = 2;

    [LibraryImport(Lib, EntryPoint = "gst_structure_get_value", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr StructureGetValue(IntPtr structure, string field);

    [LibraryImport(Lib, EntryPoint = "gst_structure_get_int", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int StructureGetInt(IntPtr structure, string field, out int value);

    [LibraryImport(Lib, EntryPoint = "gst_structure_to_string")]
    internal static partial IntPtr StructureToString(IntPtr structure);

    [LibraryImport(Lib, EntryPoint = "gst_caps_from_string", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr CapsFromString(string caps);

    [LibraryImport(Lib, EntryPoint = "gst_caps_get_structure")]
    internal static partial IntPtr CapsGetStructure(IntPtr caps, uint index);

    [LibraryImport(Lib, EntryPoint = "gst_util_set_object_arg", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial void UtilSetObjectArg(IntPtr instance, string name, string value);

    [LibraryImport(Lib, EntryPoint = "gst_version")]
    internal static partial void Version(out uint major, out uint minor, out uint micro, out uint nano);
}

internal static partial class GstSdp
{
    private const string Lib = "libgstsdp-1.0.so.0";

    [LibraryImport(Lib, EntryPoint = "gst_sdp_message_new_from_text", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MessageNewFromText(string text, out IntPtr message);

    [LibraryImport(Lib, EntryPoint = "gst_sdp_message_as_text")]
    internal static partial IntPtr MessageAsText(IntPtr message);

    [LibraryImport(Lib, EntryPoint = "gst_sdp_message_free")]
    internal static partial int MessageFree(IntPtr message);
}

internal static partial class GstWebRtc
{
    private const string Lib = "libgstwebrtc-1.0.so.0";

    internal const int SdpTypeOffer = 1;
    internal const int SdpTypeAnswer = 3;

    internal const int DirectionRecvOnly = 3;

    [LibraryImport(Lib, EntryPoint = "gst_webrtc_session_description_new")]
    internal static partial IntPtr SessionDescriptionNew(int type, IntPtr sdp);

    [LibraryImport(Lib, EntryPoint = "gst_webrtc_session_description_free")]
    internal static partial void SessionDescriptionFree(IntPtr description);

    /// <summary>GstWebRTCSessionDescription is { type (4 + 4 padding), GstSDPMessage* sdp }.</summary>
    internal static IntPtr SdpOf(IntPtr description) => Marshal.ReadIntPtr(description, 8);
}
