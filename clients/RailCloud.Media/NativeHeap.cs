using System.Runtime.InteropServices;

namespace RailCloud.Media;

/// <summary>
/// The C heap of a process that runs peer after peer. glibc gives threads that allocate at the same time arenas of
/// their own (up to eight per core) and keeps in each what was freed there; every sending peer starts new GStreamer
/// streaming threads (the encoder's, the network's, webrtcbin's), so a long-running process grows session by session
/// although nothing leaks (GStreamer's leaks tracer finds no object left alive). See the README's "Native peers" for
/// the figures.
/// </summary>
public static partial class NativeHeap
{
    private const int ArenaMax = -8;   // M_ARENA_MAX in glibc's malloc.h

    [LibraryImport("libc.so.6", EntryPoint = "mallopt")]
    private static partial int MallOpt(int parameter, int value);

    [LibraryImport("libc.so.6", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    /// <summary>
    /// Caps glibc's malloc arenas at <paramref name="arenas"/> from now on (arenas that exist stay). Returns false,
    /// changing nothing, where that cannot be done (not Linux, not glibc) or was chosen already (MALLOC_ARENA_MAX set).
    /// </summary>
    public static bool LimitArenas(int arenas)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(arenas, 1);
        return Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is null && Glibc(() => MallOpt(ArenaMax, arenas) == 1);
    }

    /// <summary>Gives the free memory of every arena back to the system (after a peer is disposed, say); false where there is no glibc.</summary>
    public static bool Trim() => Glibc(() =>
    {
        MallocTrim(0);   // 1 when it released something, 0 when there was nothing to release
        return true;
    });

    private static bool Glibc(Func<bool> call)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        try
        {
            return call();
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;   // another C library (musl, say)
        }
    }
}
