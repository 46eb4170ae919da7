using Dapper;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>What a verified resident ID number says about its holder, and nothing else: sex, birth date and province code.</summary>
internal readonly record struct IdentityFacts(Sex Sex, DateOnly BirthDate, int ProvinceCode);

/// <summary>
/// How Analytics learns the demographic facts of payers: the identity number is sealed in this module's users table, so it is
/// opened here and only the three facts leave (never the number, the name or the phone). Users without a verified identity,
/// and closed accounts (their identity erased), are simply absent from the answer.
/// </summary>
internal sealed class PayerDemographics(Db db, UserData data)
{
    /// <summary>Most users asked for at once (one event batch).</summary>
    public const int UsersMax = 1000;

    public async Task<IReadOnlyDictionary<Guid, IdentityFacts>> FactsAsync(IReadOnlyCollection<Guid> userIds, CancellationToken ct)
    {
        Qianbao.Ledger.Invariant.That(userIds.Count <= UsersMax, "demographics are asked for at most 1000 users at once");
        var facts = new Dictionary<Guid, IdentityFacts>();
        if (userIds.Count == 0) return facts;
        await using var connection = await db.OpenAsync(ct);
        var (idIn, ids) = db.IdIn("id", userIds);
        var rows = await connection.QueryAsync<(Guid Id, string? Number)>(new CommandDefinition(
            $"SELECT id, identity_number_enc FROM users WHERE {idIn} AND identity_number_enc IS NOT NULL AND closed_at_us IS NULL",
            new { ids }, cancellationToken: ct));
        foreach (var (id, sealedNumber) in rows)
        {
            if (data.Open(id, "identity_number_enc", sealedNumber) is not { } text) continue;
            if (ResidentIdNumber.TryParse(text, out var number) != ResidentIdProblem.None) continue;
            facts[id] = new IdentityFacts(number!.Value.Sex, number.Value.BirthDate, number.Value.ProvinceCode);
        }
        return facts;
    }
}
