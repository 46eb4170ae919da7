using System.Text.RegularExpressions;

namespace Qianbao.Server.Tests.Docs;

/// <summary>
/// docs/ARCHITECTURE.md against the code: the folders it lists exist, and the rules it marks as checked hold
/// (money moves only through the pipeline; the ledger tables are read only inside Money/; no module hands SQL
/// text to the ledger; the ledger library stays pure).
/// </summary>
public sealed partial class ArchitectureTests
{
    private static readonly string Root = Readme.RepositoryRoot();
    private static readonly string Server = Path.Combine(Root, "src", "Qianbao.Server");

    [Fact]
    public void EveryFolderTheDocumentListsExists()
    {
        var text = File.ReadAllText(Path.Combine(Root, "docs", "ARCHITECTURE.md"));
        var tree = text[text.IndexOf("```", StringComparison.Ordinal)..text.IndexOf("```", text.IndexOf("```", StringComparison.Ordinal) + 3, StringComparison.Ordinal)];
        var folders = new List<string>();
        var stack = new List<(int Indent, string Name)>();
        foreach (var line in tree.Split('\n'))
        {
            var match = FolderLine().Match(line);
            if (!match.Success) continue;
            var indent = match.Groups[1].Value.Length;
            stack.RemoveAll(s => s.Indent >= indent);
            stack.Add((indent, match.Groups[2].Value));
            folders.Add(string.Join('/', stack.Select(s => s.Name)));
        }
        folders.Count.ShouldBeGreaterThan(15, "the tree lists the modules");
        foreach (var folder in folders)
            Directory.Exists(Path.Combine(Root, folder)).ShouldBeTrue($"docs/ARCHITECTURE.md lists {folder}/, which does not exist");
    }

    [Fact]
    public void OnlyMoneySubmitsToTheLedgerExecutor() =>
        FilesOutsideMoney().Where(f => File.ReadAllText(f).Contains("LedgerExecutor.", StringComparison.Ordinal)
                                       || ExecutorParameter().IsMatch(File.ReadAllText(f)))
            .Select(Relative).ShouldBeEmpty("every movement goes through MoneyPipeline");

    [Fact]
    public void OnlyMoneyQueriesTheLedgerTables() =>
        FilesOutsideMoney().Where(f => LedgerTableSql().IsMatch(File.ReadAllText(f)))
            .Select(Relative).ShouldBeEmpty("modules read the ledger through Money (LedgerAccounts, LedgerHistory, LedgerHolds, LedgerCheck)");

    /// <summary>Each module's tables, and the files outside it that still read them (docs/ARCHITECTURE.md names them).</summary>
    public static TheoryData<string, string, string[]> TableOwners => new()
    {
        { "Modules/Identity", "users|verifications|devices|sessions|security_events|bank_cards|identity_reviews", [] },
        { "Modules/Messaging", "outbound_messages", [] },
        { "Modules/Operators", "operators|audit_log", [] },
        { "Modules/Merchants", "merchants|merchant_apps", ["Adapters/Alipay/GatewayEndpoint.cs"] },
        { "Modules/Acquiring", "trades|trade_refunds|trade_settlements|payment_codes|royalty_relations",
            ["Adapters/Alipay/Notifications/NotificationDispatcher.cs"] },
        { "Adapters/Alipay/Notifications", "notify_deliveries", [] },
        { "Modules/Marketing", "campaigns|campaign_claimers|coupons|coupon_redemptions|voucher_templates|voucher_sends", [] },
        { "Modules/Memberships", "membership_templates|membership_cards|membership_spend", [] },
        { "Modules/Risk", "aml_movements|aml_subjects|risk_cases|risk_hits|watchlist_entries", [] },
        { "Modules/Holds", "amount_holds", [] },
        { "Modules/Complaints", "complaints|complaint_replies", [] },
        { "Modules/RedPackets", "red_packets|red_packet_shares", [] },
        { "Modules/Points", "points_users|points_trades|points_lots|points_items", [] },
        { "Modules/Notifications", "merchant_follows|notification_consents|notification_sender_blocks", [] },
        { "Modules/Recommendations", "reco_seen|reco_user_merchants|reco_merchants|reco_pairs", [] },
        { "Modules/Analytics", "analytics_[a-z_]+", [] },
        { "Money", "owner_freezes|domain_events|event_subscriptions|idempotency_keys", [] },
    };

    [Theory]
    [MemberData(nameof(TableOwners))]
    public void OnlyTheOwningModuleQueriesItsTables(string owner, string tables, string[] knownExceptions)
    {
        var pattern = new Regex($@"(FROM|JOIN|INTO|UPDATE)\s+({tables})\b", RegexOptions.IgnoreCase);
        var ownerDir = Path.Combine(Server, owner.Replace('/', Path.DirectorySeparatorChar)) + Path.DirectorySeparatorChar;
        SourceFiles(Server)
            .Where(f => !f.StartsWith(ownerDir, StringComparison.Ordinal) && pattern.IsMatch(File.ReadAllText(f)))
            .Select(f => Path.GetRelativePath(Server, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Except(knownExceptions)
            .ShouldBeEmpty($"{tables} belong to {owner}: ask it, don't query its tables");
    }

    [Fact]
    public void NoRawSqlGuardsOrEffectsRemain() =>
        SourceFiles(Server).Where(f => RawSqlCarrier().IsMatch(File.ReadAllText(f)))
            .Select(Relative).ShouldBeEmpty("guards and effects are typed values whose SQL lives in the owning module");

    [Fact]
    public void TheLedgerLibraryHasNoReferences()
    {
        var project = File.ReadAllText(Path.Combine(Root, "src", "Qianbao.Ledger", "Qianbao.Ledger.csproj"));
        project.ShouldNotContain("PackageReference");
        project.ShouldNotContain("ProjectReference");
    }

    private static IEnumerable<string> FilesOutsideMoney() =>
        SourceFiles(Server).Where(f => !f.StartsWith(Path.Combine(Server, "Money") + Path.DirectorySeparatorChar, StringComparison.Ordinal));

    private static IEnumerable<string> SourceFiles(string root) =>
        Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    private static string Relative(string path) => Path.GetRelativePath(Root, path);

    [GeneratedRegex(@"^(\s*)([A-Za-z][A-Za-z./]*)/(\s|$)")]
    private static partial Regex FolderLine();

    [GeneratedRegex(@"\bLedgerExecutor\s+\w+\s*[,)]")]
    private static partial Regex ExecutorParameter();

    [GeneratedRegex(@"(FROM|JOIN|INTO|UPDATE)\s+(transfers|accounts)\b", RegexOptions.IgnoreCase)]
    private static partial Regex LedgerTableSql();

    [GeneratedRegex(@"\bSql(Guard|Effect)\b")]
    private static partial Regex RawSqlCarrier();
}
