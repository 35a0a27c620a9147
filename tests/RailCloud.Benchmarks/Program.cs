using RailCloud.Benchmarks;

var command = args.FirstOrDefault() ?? "help";
switch (command)
{
    case "emulator":
        var settings = EmulatorBenchmark.Settings.Parse(args.Skip(1).ToArray());
        return await EmulatorBenchmark.RunAsync(settings);
    case "flood":
        return await FloodBenchmark.RunAsync(TimeSpan.FromSeconds(Option("--seconds", 10)));
    case "relay":
        return await RelayPathsBenchmark.RunAsync(Profile(), Option("--rate", 5), TimeSpan.FromSeconds(Option("--seconds", 20)));
    case "native":
        return await NativePeersBenchmark.RunAsync(Option("--rounds", 10), Option("--sessions", 60));
    case "ttff":
        return await TimeToFirstFrame.RunAsync(new(Profile(), Option("--rounds", 30), TimeSpan.FromSeconds(Option("--minute-seconds", 60)), args.Contains("--native")));
    default:
        Console.WriteLine("""
            RailCloud benchmarks

              emulator [--connections N] [--sends N] [--fanout-clients N] [--fanout-messages N]
                  Web PubSub emulator: connections held per 100 MB, REST send-to-connection latency
                  p50/p99 on loopback, group fan-out messages/s. Defaults: 2000, 2000, 100, 500.
              flood [--seconds 10]
                  An honest pair's relay latency before and during a signaling flood from one connection, a login
                  flood from one address and a negotiate flood with one token (production allowances).
              ttff [--profile lan|city|4g] [--rounds 30] [--minute-seconds 60] [--native]
                  Time to first frame over a simulated network (delaying proxies on every leg, media through TURN):
                  browser → browser (with --native also the C# kiosk agent → browser and browser → C# probe), beside two pages signaling
                  through a plain WebSocket relay over the same legs; median, p90, p99. Then what a session costs:
                  Function invocations, table transactions and Web PubSub messages per session setup, per watched
                  minute and per idle kiosk minute.
              relay [--profile lan|city|4g] [--rate 5] [--seconds 20]
                  One relayed message over the same simulated network, one pair, that many messages a second each way:
                  a plain WebSocket relay, Web PubSub's own group send (a per-session group: no Function per message)
                  and RailCloud's path through the event handler; p50 / p99 / max and the ratios to the plain relay.
              native [--rounds 10] [--sessions 60]
                  Time to first frame browser → browser, C# kiosk agent → browser, browser → C# probe; the agent's CPU
                  and memory while it streams 640×360 at 15 fps, and its memory over that many more sessions.
            """);
        return command == "help" ? 0 : 2;
}

RailCloud.Testing.Wan.WanProfile Profile()
{
    var at = Array.IndexOf(args, "--profile");
    return RailCloud.Testing.Wan.WanProfile.Parse(at > 0 && at + 1 < args.Length ? args[at + 1] : "lan");
}

int Option(string name, int fallback)
{
    var at = Array.IndexOf(args, name);
    return at > 0 && at + 1 < args.Length ? int.Parse(args[at + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;
}
