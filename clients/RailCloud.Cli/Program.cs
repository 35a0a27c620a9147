using RailCloud.Cli;
using RailCloud.Client;

var parsed = new Args(args);
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

try
{
    return parsed.At(0) switch
    {
        "accounts" => await AccountsCommand.RunAsync(parsed, stop.Token),
        "devices" => await DevicesCommand.RunAsync(parsed, stop.Token),
        "kiosk" => await Simulators.KioskAsync(parsed, stop.Token),
        "monitor" => await Simulators.MonitorAsync(parsed, stop.Token),
        "load" => await LoadCommand.RunAsync(parsed, stop.Token),
        null or "help" or "--help" => Usage(0),
        var other => Usage(2, $"Unknown command '{other}'."),
    };
}
catch (UsageException ex)
{
    return Usage(2, ex.Message);
}
catch (RailCloudException ex)
{
    Console.Error.WriteLine($"railcloud: refused: {ex.Code}: {ex.ServerMessage}");
    return 1;
}
catch (HttpRequestException ex)
{
    Console.Error.WriteLine($"railcloud: cannot reach the API: {ex.Message} (is ./run.sh running? see --api)");
    return 1;
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    return 0;
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

          kiosk   --id KIOSK_01 [--password P] [--api URL]
          kiosk   --enrol CODE [--name N] [--key-file PATH]     then later: kiosk --id KIOSK_01 (no password)
              A simulated kiosk: registers, heartbeats, answers offers, trickles ICE. Enrolled with --enrol, it keeps
              its device key in ~/.config/railcloud/devices/<kioskId>.json (or --key-file) and signs in with it.
              Type "on <crewId> [name]" or "off <crewId>" to sign crew on or off.
          monitor --id MONITOR_01 [--password P] [--api URL] [--watch KIOSK_01]
              A simulated monitor: lists kiosks, watches one, exchanges offer/answer/ICE.
              Type "watch <kioskId>", "stop <kioskId>" or "list".

          load --pairs 20 [--candidates 20] [--rate 15] [--api URL] [--storage ...]
              N kiosk/monitor pairs set up sessions and relay candidates (each client at --rate per second,
              under the backend's per-connection limit); prints sessions/s and relay latency p50/p99/max.

          --api defaults to RAILCLOUD_API, else http://127.0.0.1:7071. Passwords default to RAILCLOUD_PASSWORD.
        """);
    return code;
}
