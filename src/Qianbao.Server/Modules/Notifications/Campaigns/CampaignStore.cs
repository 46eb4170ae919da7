using System.Text.Json;
using Dapper;
using Qianbao.Server.Http;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications.Campaigns;

/// <summary>Where a messaging campaign is. Stored as its number.</summary>
internal enum CampaignState : short { Draft = 0, Scheduled = 1, Sending = 2, Sent = 3 }

internal sealed class CampaignRow
{
    public const string Columns = "id, name, definition, holdout_bps, send_at_us, status, audience, holdout, scheduled, created_at_us, started_at_us, sent_at_us";

    public Guid id { get; init; }
    public string name { get; init; } = "";
    public string definition { get; init; } = "";
    public int holdout_bps { get; init; }
    public long? send_at_us { get; init; }
    public short status { get; init; }
    public int? audience { get; init; }
    public int? holdout { get; init; }
    public int? scheduled { get; init; }
    public long created_at_us { get; init; }
    public long? started_at_us { get; init; }
    public long? sent_at_us { get; init; }

    public CampaignDefinition Definition => JsonSerializer.Deserialize<CampaignDefinition>(definition, JsonDefaults.Options)!;

    public CampaignState State => (CampaignState)status;

    public object Body() => new
    {
        id,
        name,
        status = State.ToString().ToLowerInvariant(),
        holdout_bps,
        send_at = send_at_us is { } s ? Hosting.TimeProviderExtensions.FromUnixMicroseconds(s) : (DateTimeOffset?)null,
        audience,
        holdout,
        scheduled,
        created_at = Hosting.TimeProviderExtensions.FromUnixMicroseconds(created_at_us),
        definition = JsonSerializer.Deserialize<JsonElement>(definition),
    };
}

/// <summary>The campaigns table and their members.</summary>
internal sealed class CampaignStore(Db db)
{
    public async Task<CampaignRow?> FindAsync(Guid id, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<CampaignRow>(new CommandDefinition(
            $"SELECT {CampaignRow.Columns} FROM messaging_campaigns WHERE id = @id", new { id }, cancellationToken: ct));
    }
}
