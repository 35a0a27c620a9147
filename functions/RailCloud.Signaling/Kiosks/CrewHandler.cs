using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RailCloud.Protocol;
using RailCloud.Signaling.Hub;

namespace RailCloud.Signaling.Kiosks;

/// <summary>
/// <c>crew-sign-on</c> and <c>crew-sign-off</c> at a kiosk: stored on the kiosk's row (at most
/// <see cref="Limits.MaxCrewOnDuty"/> on duty), written to its audit trail and told to every monitor. Each one costs a
/// write, an audit row and a broadcast, so they share the connection's signaling allowance.
/// </summary>
public sealed class CrewHandler(KioskStore kiosks, AuditStore audit, Notifier notify, Allowance allowance, ILogger<CrewHandler> logger) : IHubEventHandler
{
    public IReadOnlyCollection<string> Events { get; } = [Protocol.Events.CrewSignOn, Protocol.Events.CrewSignOff];

    public async Task<IResult> HandleAsync(HubEvent e, CancellationToken cancellationToken)
    {
        if (e.State.Role != Roles.Kiosk)
        {
            return e.Refuse(ErrorCodes.Forbidden, "Crew sign-on and sign-off happen at a kiosk.");
        }
        if (await allowance.RefusalAsync(e, cancellationToken).ConfigureAwait(false) is { } limited)
        {
            return limited;
        }
        var signOn = e.Name == Protocol.Events.CrewSignOn;
        var (crewId, rawName) = signOn
            ? e.Read<CrewSignOnRequest>() is { } on ? (on.CrewId, on.Name) : (null, null)
            : (e.Read<CrewSignOffRequest>()?.CrewId, null);
        if (!EventData.IsId(crewId))
        {
            return e.Refuse(ErrorCodes.InvalidPayload, $"{e.Name} needs a valid crewId{(signOn ? $" (and, if any, a name of at most {Limits.MaxCrewNameLength} characters)" : "")}.");
        }
        if (rawName is not null && (rawName.Length > Limits.MaxCrewNameLength || rawName.Any(char.IsControl)))
        {
            return e.Refuse(ErrorCodes.InvalidPayload, $"name must be text of at most {Limits.MaxCrewNameLength} characters.");
        }
        var name = rawName is null || rawName.Trim().Length == 0 ? null : rawName.Trim();
        var onDuty = true;
        var full = false;
        await kiosks.UpdateAsync(e.State.Id, k =>
        {
            var crew = KioskStore.ReadCrew(k);
            onDuty = crew.RemoveAll(m => m.CrewId == crewId) > 0;
            full = signOn && crew.Count >= Limits.MaxCrewOnDuty;
            if ((!signOn && !onDuty) || full)
            {
                return false;   // nothing to change, and nothing to tell anyone
            }
            if (signOn)
            {
                crew.Add(new CrewOnDuty(crewId!, name, e.Now));
            }
            KioskStore.WriteCrew(k, crew);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        if (!signOn && !onDuty)
        {
            return e.Refuse(ErrorCodes.NotOnDuty, $"Crew {crewId} is not signed on at {e.State.Id}.");
        }
        if (full)
        {
            return e.Refuse(ErrorCodes.CrewFull, $"{e.State.Id} already has {Limits.MaxCrewOnDuty} crew on duty; sign someone off first.");
        }
        await audit.AddAsync(new AuditEntry(e.Name, e.Now, e.State.Id, CrewId: crewId, Name: name), cancellationToken).ConfigureAwait(false);
        logger.LogInformation("{Event}: crew {CrewId} at kiosk {KioskId}", e.Name, crewId, e.State.Id);
        await notify.ToMonitorsAsync(new CrewEvent(e.Name, e.State.Id, crewId!, name, e.Now), cancellationToken).ConfigureAwait(false);
        return e.Done();
    }
}
