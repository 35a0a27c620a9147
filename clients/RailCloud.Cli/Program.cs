using RailCloud.Cli;
using RailCloud.Client;
using RailCloud.Media;

var parsed = new Args(args);
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

// Every command ends with one line of what went wrong and what to do, and an exit code from ExitCodes: never a stack
// trace, a signal or a wait without end.
try
{
    return parsed.At(0) switch
    {
        "accounts" => await AccountsCommand.RunAsync(parsed, stop.Token),
        "devices" => await DevicesCommand.RunAsync(parsed, stop.Token),
        "kiosk" => await Simulators.KioskAsync(parsed, stop.Token),
        "monitor" => await Simulators.MonitorAsync(parsed, stop.Token),
        "load" => await LoadCommand.RunAsync(parsed, stop.Token),
        "probe" => await ProbeCommand.RunAsync(parsed, stop.Token),
        null or "help" or "--help" => Usage(ExitCodes.Success),
        var other => Usage(ExitCodes.Usage, $"Unknown command '{other}'."),
    };
}
catch (UsageException ex)
{
    return Usage(ExitCodes.Usage, ex.Message);
}
catch (CliFailure ex)
{
    return Fail(ex.ExitCode, ex.Message, ex);
}
catch (RailCloudException ex)
{
    return Fail(ExitCodes.Refused, CliFailure.Describe(ex), ex);
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    return ExitCodes.Success;
}
catch (Exception ex) when (CliFailure.IsNetwork(ex))
{
    return Fail(ExitCodes.Unreachable, $"cannot reach RailCloud at {Simulators.ApiUrl(parsed)} ({CliFailure.FirstLine(ex)}); is ./run.sh running? (--api, or RAILCLOUD_API)", ex);
}
catch (Exception ex)
{
    return Fail(ExitCodes.Bug, $"failed unexpectedly ({ex.GetType().Name}: {CliFailure.FirstLine(ex)}); this is a bug in railcloud: run again with RAILCLOUD_DEBUG=1 for the details and report them", ex);
}
finally
{
    // GStreamer may still be loading plugins or making its DTLS key on another thread (the probe starts that while it
    // signs in): leaving the process under it crashes in native code (exit 139).
    await GStreamer.SettleAsync(TimeSpan.FromSeconds(15));
}

static int Fail(int code, string message, Exception ex)
{
    Console.Error.WriteLine("railcloud: " + message);
    if (Environment.GetEnvironmentVariable("RAILCLOUD_DEBUG") is "1" or "true")
    {
        Console.Error.WriteLine(ex);
    }
    return code;
}

static int Usage(int code, string? problem = null)
{
    if (problem is not null)
    {
        Console.Error.WriteLine("railcloud: " + problem);
    }
    Console.WriteLine("""
        railcloud — RailCloud's command line

          accounts add <id> --role kiosk|monitor|supervisor [--password P]
          accounts list
          accounts remove <id>
          accounts reset-password <id> [--password P]
              Options: --storage <connection string, or a deployment's https:// table endpoint used
                                  as your 'az login' / 'azd auth login' identity>
                                 (default: RAILCLOUD_STORAGE, else local Azurite)
                       --table-prefix <prefix> (default: railcloud)

          devices enrol <kioskId> | devices list | devices revoke <deviceId>  --id SUPERVISOR_01 [--password P] [--api URL]
              Enrolment codes for unattended kiosks (shown once, with the kiosk page URL), and enrolled devices.

          kiosk   --id KIOSK_01 [--password P] [--api URL] [--camera /dev/video0 | --test-pattern]
                  [--width 640] [--height 360] [--fps 15] [--local-address 127.0.0.1] [--relay-only] [--placeholder]
          kiosk   --enrol CODE [--name N] [--key-file PATH]     then later: kiosk --id KIOSK_01 (no password)
              The kiosk agent: streams live video with GStreamer (VP8) from the camera, or the test pattern when there
              is none (or with --test-pattern); answers each monitor's offer, trickles ICE with the TURN credentials
              from RailCloud, heartbeats, and reconnects by itself; it never exits on a network fault. Enrolled with
              --enrol, it keeps its device key in ~/.config/railcloud/devices/<kioskId>.json (or --key-file) and signs
              in with it. --relay-only sends video only through TURN (the kiosk's own addresses stay hidden from
              monitors). Type "on <crewId> [name]" or "off <crewId>" to sign crew on or off. --placeholder makes it
              the signaling-only simulator (placeholder SDP, no media; what `load` simulates).
          probe KIOSK_07 --id MONITOR_01 [--password P] [--duration 10s] [--timeout 20s] [--snapshot out.jpg]
                [--relay-only] [--local-address 127.0.0.1]
          probe --all --id MONITOR_01 [...]
              A monitor peer in C#: watches the kiosk, counts decoded frames, prints time to first frame, frames/s,
              size, path (host/srflx/relay) and packet loss, optionally saves a JPEG, stops. Exit codes: 0 video
              flows, 3 offline or unknown, 4 busy (someone watches it), 5 no media within the timeout, 1 refused.
              --all probes every online kiosk nobody watches, one after the other, and prints a table.
          monitor --id MONITOR_01 [--password P] [--api URL] [--watch KIOSK_01]
              A simulated monitor (placeholder SDP, no media): lists kiosks, watches one, exchanges offer/answer/ICE.
              Type "watch <kioskId>", "stop <kioskId>" or "list".

          load [--kiosks 20] [--monitors 20] [--duration 1m] [--drop-rate 0] [--restart-rate 0.01] [--trickle 5]
               [--baselines true|false] [--baseline-pairs 10] [--baseline-duration 20s] [--rate 15]
               [--webpubsub <connection string>] [--api URL] [--storage ...] [--online-timeout 1m]
              A fleet simulator: kiosks heartbeat, sign crews on and off, answer offers and trickle candidates;
              monitors watch an idle kiosk for 10-40 s, stop, and pick another; each client's socket drops with
              probability --drop-rate a minute and each kiosk restarts with --restart-rate a minute. Every relayed
              message and crew broadcast is counted: prints sessions/s, time to monitoring-started, relay latency
              p50/p99/max, lost and duplicated messages, double sessions, storage transactions and invocations per
              session (the local API's meters) and each process's memory; exits 1 if anything was lost, duplicated
              or doubled; gives up (saying why) when no more client gets online for --online-timeout. Then the baselines: the same relay over a plain in-process WebSocket relay, the Web PubSub
              emulator's group send (--webpubsub, default the local emulator) and RailCloud's path, with ratios.
              Placeholder SDP: signaling load only (media for hundreds of sessions would not fit two cores).
          load --pairs 20 [--candidates 20] [--rate 15]
              The quick relay test: N pairs set up sessions at once and relay candidates both ways at --rate.

          --api defaults to RAILCLOUD_API, else http://127.0.0.1:7071. Passwords default to RAILCLOUD_PASSWORD.

          Exit codes: 0 done (probe: video flows); 1 refused (a sign-in or a request; load: a message lost or
          duplicated, or a double session); 2 usage; 3 probe: offline or unknown; 4 probe: busy; 5 probe: no media;
          6 the API, Table Storage or Web PubSub could not be reached or did not answer in time; 70 a bug.
        """);
    return code;
}
