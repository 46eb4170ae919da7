namespace Qianbao.Server.Modules.Identity.DataRights;

/// <summary>Whose personal data: the user, and their phone (opened by Identity) for modules that key data by it.</summary>
internal readonly record struct DataSubject(Guid UserId, string? Phone);

/// <summary>
/// The extension point of the data rights (PIPL art. 45 and 47, GDPR art. 15, 17, 20): every module that holds personal data
/// about a user registers one, so <c>GET /v1/me/export</c> collects it and <c>DELETE /v1/me</c> erases it. A module
/// added later (complaints, notification preferences, consents) registers its own source with
/// <c>services.AddSingleton&lt;IPersonalDataSource, …&gt;()</c>; nothing else changes.
/// </summary>
internal interface IPersonalDataSource
{
    /// <summary>
    /// The export's sections this module fills, by name (e.g. <c>transactions</c>), each a JSON-serialisable value. Another
    /// person's data appears only masked (a counterparty's name as <c>*磊</c>).
    /// </summary>
    Task<IReadOnlyDictionary<string, object?>> ExportAsync(DataSubject subject, CancellationToken ct);

    /// <summary>
    /// Erases or pseudonymises what this module holds about the subject; called once the account is closed (balances zero).
    /// Records the law makes us keep (ledger entries) stay, without personal data in them.
    /// </summary>
    Task EraseAsync(DataSubject subject, CancellationToken ct);
}

/// <summary>Collects every <see cref="IPersonalDataSource"/> into one document, and erases through all of them.</summary>
internal sealed class PersonalDataExport(IEnumerable<IPersonalDataSource> sources)
{
    /// <summary>Sections the export always has, empty until a module fills them (complaints, notification preferences, consents).</summary>
    public static readonly string[] PlaceholderSections = ["notification_preferences", "consents", "complaints"];

    public async Task<SortedDictionary<string, object?>> CollectAsync(DataSubject subject, CancellationToken ct)
    {
        var document = new SortedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var section in PlaceholderSections) document[section] = Array.Empty<object>();
        foreach (var source in sources)
            foreach (var (name, value) in await source.ExportAsync(subject, ct))
                document[name] = value;
        return document;
    }

    public async Task EraseAsync(DataSubject subject, CancellationToken ct)
    {
        foreach (var source in sources) await source.EraseAsync(subject, ct);
    }
}
