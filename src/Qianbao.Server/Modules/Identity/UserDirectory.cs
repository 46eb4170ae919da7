using Dapper;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// How other modules learn whether a person exists: the users table is this module's own, so nobody else
/// queries it. Each call takes one pooled connection and releases it before returning.
/// </summary>
internal sealed class UserDirectory(Db db, UserData data, Tiers.TierStore tiers, MaskedNameCache maskedNames, UserStates states)
{
    /// <summary>
    /// Whether the user exists and is open: a closed account (DELETE /v1/me) is nobody to pay or to act on. The same read gives
    /// the tier, kept for the request (a recipient's tier is checked next).
    /// </summary>
    public async Task<bool> ExistsAsync(Guid userId, CancellationToken ct)
    {
        // From memory when known (UserStates, kept current by notification): a recipient costs no round trip per transfer.
        if (await states.GetAsync(userId, ct) is not { Open: true } state) return false;
        tiers.Remember(userId, state.Tier);
        return true;
    }

    /// <param name="phone">Normalized by <see cref="PhoneNumber.TryNormalize"/>.</param>
    public async Task<Guid?> FindByPhoneAsync(string phone, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition("SELECT id FROM users WHERE phone = @index",
            new { index = data.PhoneIndex(phone) }, cancellationToken: ct));
    }

    /// <summary>
    /// Masked display names (<see cref="Masks.Name"/>) of those of <paramref name="userIds"/> that are users (at most
    /// 1000 ids): the only form in which other modules show one person's name to another.
    /// </summary>
    public async Task<IReadOnlyDictionary<Guid, string>> MaskedNamesAsync(IReadOnlyCollection<Guid> userIds, CancellationToken ct)
    {
        Qianbao.Ledger.Invariant.That(userIds.Count <= 1000, "names are asked for at most 1000 users at once");
        var found = new Dictionary<Guid, string>(userIds.Count);
        List<Guid>? missing = null;
        foreach (var id in userIds)
        {
            if (maskedNames.TryGet(id, out var name)) found[id] = name;
            else (missing ??= []).Add(id);
        }
        if (missing is null) return found;
        var generation = maskedNames.Generation;
        await using var connection = await db.OpenAsync(ct);
        var (idIn, ids) = db.IdIn("id", missing);
        var rows = await connection.QueryAsync<(Guid Id, string Name)>(new CommandDefinition($"SELECT id, name FROM users WHERE {idIn}",
            new { ids }, cancellationToken: ct));
        foreach (var (id, stored) in rows)
        {
            var masked = Masks.Name(data.Open(id, "name", stored) ?? "");
            found[id] = masked;
            // Only a sealed name is kept: it changes only by erasure, which MaskedNameCache hears of. An erased or not yet
            // sealed one (before 0016) is read again.
            if (Storage.PersonalData.PersonalDataProtector.IsSealed(stored)) maskedNames.Add(id, masked, generation);
        }
        return found;
    }

    /// <summary>
    /// Where to reach a user and in which language: the phone (E.164) and the locale; null if there is no such user, or the
    /// account is closed (its phone is erased).
    /// </summary>
    public async Task<(string Phone, string Locale)?> ContactAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<(string? PhoneEnc, string Locale)?>(new CommandDefinition(
            "SELECT phone_enc, locale FROM users WHERE id = @userId", new { userId }, cancellationToken: ct));
        return row is { } r && data.Open(userId, "phone_enc", r.PhoneEnc) is { } phone ? (phone, r.Locale) : null;
    }

    /// <summary>The same as <see cref="ContactAsync(Guid, CancellationToken)"/>, read in the caller's transaction.</summary>
    public async Task<(string Phone, string Locale)?> ContactAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction? tx,
        Guid userId, CancellationToken ct)
    {
        var row = await connection.QuerySingleOrDefaultAsync<(string? PhoneEnc, string Locale)?>(new CommandDefinition(
            "SELECT phone_enc, locale FROM users WHERE id = @userId", new { userId }, tx, cancellationToken: ct));
        return row is { } r && data.Open(userId, "phone_enc", r.PhoneEnc) is { } phone ? (phone, r.Locale) : null;
    }

    /// <summary>
    /// What <see cref="ContactAsync(System.Data.Common.DbConnection, System.Data.Common.DbTransaction?, Guid, CancellationToken)"/>
    /// answers, for many users in one read, in the caller's transaction: null for a user without a phone (or no such user), else
    /// the locale and the phone, which is opened only for the users in <paramref name="phoneWanted"/> (null for the others: the
    /// caller needs no number it would not send to, and opening one costs a decryption).
    /// </summary>
    public async Task<Dictionary<Guid, (string? Phone, string Locale)?>> ContactsAsync(System.Data.Common.DbConnection connection,
        System.Data.Common.DbTransaction? tx, IReadOnlyCollection<Guid> userIds, IReadOnlySet<Guid> phoneWanted, CancellationToken ct)
    {
        var contacts = userIds.Distinct().ToDictionary(id => id, _ => ((string? Phone, string Locale)?)null);
        if (contacts.Count == 0) return contacts;
        var (inIds, ids) = db.IdIn("id", contacts.Keys);
        var rows = await connection.QueryAsync<(Guid Id, string? PhoneEnc, string Locale)>(new CommandDefinition(
            $"SELECT id, phone_enc, locale FROM users WHERE {inIds}", new { ids }, tx, cancellationToken: ct));
        foreach (var (id, phoneEnc, locale) in rows)
        {
            // The same test as ContactAsync: a phone is there when a sealed value is (opening a sealed value gives one or throws).
            if (!Storage.PersonalData.PersonalDataProtector.IsSealed(phoneEnc)) continue;
            contacts[id] = (phoneWanted.Contains(id) ? data.Open(id, "phone_enc", phoneEnc) : null, locale);
        }
        return contacts;
    }

    /// <summary>
    /// A user's personal data unmasked, opened here: for the holder's own export and for an operator's reveal (which the
    /// caller must audit). Null if there is no such user; the fields are null when not held (erased, or never given).
    /// </summary>
    public async Task<RevealedUser?> RevealAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<RevealRow>(new CommandDefinition("""
            SELECT phone_enc, name, identity_name, identity_number_enc, identity_number_masked, locale, tier, created_at_us, closed_at_us
            FROM users WHERE id = @userId
            """, new { userId }, cancellationToken: ct));
        if (row is null) return null;
        return new RevealedUser(userId, data.Open(userId, "phone_enc", row.phone_enc), data.Open(userId, "name", row.name),
            data.Open(userId, "identity_name", row.identity_name), data.Open(userId, "identity_number_enc", row.identity_number_enc),
            row.identity_number_masked, row.locale, Tiers.UserTiers.FromStored(row.tier), row.created_at_us, row.closed_at_us);
    }

    private sealed class RevealRow
    {
        public string? phone_enc { get; init; }
        public string? name { get; init; }
        public string? identity_name { get; init; }
        public string? identity_number_enc { get; init; }
        public string? identity_number_masked { get; init; }
        public string locale { get; init; } = "";
        public long tier { get; init; }
        public long created_at_us { get; init; }
        public long? closed_at_us { get; init; }
    }
}

/// <summary>A user's personal data as held, unmasked (see <see cref="UserDirectory.RevealAsync"/>). Never logged.</summary>
internal sealed record RevealedUser(Guid Id, string? Phone, string? Name, string? IdentityName, string? IdNumber, string? IdNumberMasked,
    string Locale, Tiers.UserTier Tier, long CreatedAtUs, long? ClosedAtUs);
