using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Risk;

/// <summary>One watchlist entry: a sanctioned or otherwise listed person, by name and optionally ID number.</summary>
internal sealed record WatchlistEntry(Guid Id, string Name, string NameNormalized, string? IdNumber, string List, string Note, long CreatedAtUs);

/// <summary>The watchlist (Risk's table <c>watchlist_entries</c>).</summary>
internal sealed class Watchlist(Db db, TimeProvider clock)
{
    public async Task<WatchlistEntry> AddAsync(string name, string? idNumber, string list, string note, CancellationToken ct)
    {
        var entry = new WatchlistEntry(Guid.CreateVersion7(clock.GetUtcNow()), name, WatchlistNames.Normalize(name), idNumber, list, note,
            clock.GetUnixMicroseconds());
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO watchlist_entries (id, name, name_normalized, id_number, list, note, created_at_us)
            VALUES (@Id, @Name, @NameNormalized, @IdNumber, @List, @Note, @CreatedAtUs)
            """, entry, cancellationToken: ct));
        return entry;
    }

    public async Task<IReadOnlyList<WatchlistEntry>> AllAsync(CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            "SELECT id, name, name_normalized, id_number, list, note, created_at_us FROM watchlist_entries ORDER BY id", cancellationToken: ct));
        return [.. rows.Select(r => new WatchlistEntry(r.id, r.name, r.name_normalized, r.id_number, r.list, r.note, r.created_at_us))];
    }

    public async Task<bool> DeleteAsync(Guid id, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition("DELETE FROM watchlist_entries WHERE id = @id", new { id }, cancellationToken: ct)) == 1;
    }

    private sealed class Row
    {
        public Guid id { get; init; }
        public string name { get; init; } = "";
        public string name_normalized { get; init; } = "";
        public string? id_number { get; init; }
        public string list { get; init; } = "";
        public string note { get; init; } = "";
        public long created_at_us { get; init; }
    }
}

/// <summary>
/// Screening of people and merchants against the watchlist: the one call Identity (real-name verification) and Merchants
/// (onboarding) make, so neither reads Risk's tables. A hit opens a <c>watchlist</c> case about the subject (or finds
/// the open one). Runs whatever <c>Qianbao:Security:Relaxed</c> says.
/// </summary>
internal sealed class WatchlistScreening(Watchlist watchlist, RiskCases cases, ILogger<WatchlistScreening> logger)
{
    /// <summary>Screens a person verifying <paramref name="name"/> and <paramref name="idNumber"/>; true when a case now holds them back.</summary>
    public Task<bool> ScreenPersonAsync(Guid userId, string name, string idNumber, CancellationToken ct) =>
        ScreenAsync(SubjectType.User, userId, [name], idNumber, ct);

    /// <summary>Screens a merchant by its legal person's name (and its own name: lists name organisations too).</summary>
    public Task<bool> ScreenMerchantAsync(Guid merchantId, string legalPerson, string merchantName, CancellationToken ct) =>
        ScreenAsync(SubjectType.Merchant, merchantId, [legalPerson, merchantName], null, ct);

    /// <summary>Whether a watchlist case holds the user back: unresolved, or resolved as reported or frozen.</summary>
    public Task<bool> HoldsUserAsync(Guid userId, CancellationToken ct) => cases.WatchlistBlocksAsync(SubjectType.User, userId, ct);

    /// <summary>Whether a watchlist case holds the merchant back (its verification waits for the case to be cleared).</summary>
    public Task<bool> HoldsMerchantAsync(Guid merchantId, CancellationToken ct) => cases.WatchlistBlocksAsync(SubjectType.Merchant, merchantId, ct);

    /// <summary>The entry <paramref name="names"/> or <paramref name="idNumber"/> match, or null.</summary>
    public async Task<(WatchlistEntry Entry, string How)?> MatchAsync(IReadOnlyList<string> names, string? idNumber, CancellationToken ct)
    {
        var normalized = names.Select(WatchlistNames.Normalize).ToList();
        var id = idNumber?.Trim().ToUpperInvariant();
        // The list is short (hundreds, not millions): a scan keeps fuzzy matching simple. A long list would want an index of keys.
        foreach (var entry in await watchlist.AllAsync(ct))
        {
            if (id is not null && entry.IdNumber is not null && entry.IdNumber == id) return (entry, "id_number");
            if (normalized.Any(n => WatchlistNames.Match(n, entry.NameNormalized))) return (entry, "name");
        }
        return null;
    }

    private async Task<bool> ScreenAsync(SubjectType type, Guid subjectId, IReadOnlyList<string> names, string? idNumber, CancellationToken ct)
    {
        if (await MatchAsync(names, idNumber, ct) is not { } match) return false;
        var caseId = await cases.EnsureOpenAsync(type, subjectId, RiskRule.Watchlist,
            $"watchlist entry {match.Entry.Id} ({match.Entry.List}): {match.How} match", ct);
        logger.LogWarning("Watchlist hit: {SubjectType} {SubjectId} matches entry {EntryId} by {How}; case {CaseId}",
            AmlNames.Name(type), subjectId, match.Entry.Id, match.How, caseId);
        return true;
    }
}
