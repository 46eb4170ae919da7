using Dapper;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// Which open accounts match facts this module owns (registration time, tier, locale): the only way other modules select
/// people by them (messaging campaigns). Returns ids only.
/// </summary>
internal sealed class UserSegments(Db db)
{
    public async Task<List<Guid>> SelectAsync(long? registeredFromUs, long? registeredToUs, IReadOnlyList<short>? tiers, IReadOnlyList<string>? locales,
        CancellationToken ct)
    {
        var where = new List<string> { "closed_at_us IS NULL" };
        var p = new DynamicParameters();
        if (registeredFromUs is { } from) { where.Add("created_at_us >= @from"); p.Add("from", from); }
        if (registeredToUs is { } to) { where.Add("created_at_us <= @to"); p.Add("to", to); }
        if (tiers is { } t)
        {
            where.Add(t.Count == 0 ? "1 = 0" : $"tier IN ({string.Join(", ", t.Select(x => x.ToString(System.Globalization.CultureInfo.InvariantCulture)))})");
        }
        if (locales is { } l)
        {
            var names = l.Select((x, i) => (x, i)).ToList();
            foreach (var (x, i) in names) p.Add("l" + i, x);
            where.Add(names.Count == 0 ? "1 = 0" : $"locale IN ({string.Join(", ", names.Select(n => "@l" + n.i))})");
        }
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<Guid>(new CommandDefinition($"SELECT id FROM users WHERE {string.Join(" AND ", where)}", p,
            cancellationToken: ct))).AsList();
    }
}
