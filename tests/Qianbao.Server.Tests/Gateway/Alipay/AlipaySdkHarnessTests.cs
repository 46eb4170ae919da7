using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Xunit.Abstractions;
using Qianbao.Server.Adapters.Alipay;

namespace Qianbao.Server.Tests.Gateway.Alipay;

/// <summary>
/// Runs the official alipay-sdk (tests/sdk, Node.js) against our output: it must accept our signed responses and
/// notifications, and the requests it signs must pass our parser and verifier. Needs <c>node</c> and <c>npm</c>
/// on PATH; installs tests/sdk/node_modules with <c>npm ci</c> when missing.
/// </summary>
public sealed class AlipaySdkHarnessTests(ITestOutputHelper output) : IDisposable
{
    private const string Method = "alipay.trade.precreate";
    private const string AppId = "2021000122671080";
    private const string ChineseSubject = "中文 商品 & = + “引号”";
    private static readonly TimeSpan NodeTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan NpmTimeout = TimeSpan.FromMinutes(5);

    private readonly string _directory = Directory.CreateTempSubdirectory("qianbao-alipay-sdk-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Official_sdk_accepts_our_responses_and_notifications_and_we_accept_its_requests()
    {
        var sdkDirectory = Path.Combine(FindRepositoryRoot(), "tests", "sdk");
        if (!Directory.Exists(Path.Combine(sdkDirectory, "node_modules", "alipay-sdk")))
        {
            var (npmExit, npmOutput) = await RunAsync("npm", ["ci", "--prefix", sdkDirectory], NpmTimeout);
            npmExit.ShouldBe(0, "npm ci failed:\n" + npmOutput);
        }

        await WriteInputsAsync();

        var (exitCode, nodeOutput) = await RunAsync("node", [Path.Combine(sdkDirectory, "verify.mjs"), _directory], NodeTimeout);
        output.WriteLine(nodeOutput);
        exitCode.ShouldBe(0, "The SDK rejected our output:\n" + nodeOutput);

        var captured = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(_directory, "captured-requests.json")));
        captured.RootElement.GetArrayLength().ShouldBe(4);
        using var appPublicKey = AlipayKeys.ImportPublicKey(AlipayKeys.ExportPublicKeyBase64(TestKeys.App));
        foreach (var sent in captured.RootElement.EnumerateArray())
        {
            VerifyCapturedRequest(sent, appPublicKey);
        }
    }

    private static void VerifyCapturedRequest(JsonElement sent, System.Security.Cryptography.RSA appPublicKey)
    {
        var url = sent.GetProperty("url").GetString()!;
        var body = sent.GetProperty("body").GetString()!;
        sent.GetProperty("contentType").GetString()!.ShouldStartWith("application/x-www-form-urlencoded");

        var query = QueryHelpers.ParseQuery(url[url.IndexOf('?', StringComparison.Ordinal)..]);
        var form = QueryHelpers.ParseQuery(body);

        // The split the endpoint will see: public parameters in the query, biz_content in the body.
        query.Keys.ShouldContain("sign");
        query.Keys.ShouldContain("timestamp");
        query.Keys.ShouldContain("notify_url");
        form.Keys.ShouldBe(["biz_content"]);

        var result = GatewayRequest.Parse(query, form, TimeProvider.System);
        result.IsSuccess.ShouldBeTrue($"{result.Error?.SubCode}: {result.Error?.SubMsg}");
        var request = result.Request;
        request.AppId.ShouldBe(AppId);
        request.Method.ShouldBe(Method);
        request.NotifyUrl.ShouldBe("http://127.0.0.1:9/notify?a=b&c=d");
        request.BizContent!.Value.GetProperty("subject").GetString().ShouldBe(ChineseSubject);
        request.BizContent.Value.GetProperty("total_amount").GetString().ShouldBe("0.01");
        request.VerifySignature(appPublicKey).ShouldBeNull($"signed content: {request.SignContent}");
    }

    private async Task WriteInputsAsync()
    {
        var writer = new GatewayResponseWriter(TestKeys.Platform);
        var success = writer.WriteSuccess(Method, new Dictionary<string, object?>
        {
            ["out_trade_no"] = "T1",
            ["qr_code"] = "https://qr.qianbao.test/bax08123",
            ["subject"] = ChineseSubject,
        });
        var error = writer.WriteError(Method,
            GatewayError.BusinessFailed(GatewaySubCodes.TradeHasSuccess, "交易已被支付"),
            new Dictionary<string, object?> { ["out_trade_no"] = "T1" });
        var notification = NotificationSigner.Sign(new Dictionary<string, string>
        {
            ["notify_time"] = AlipayTime.ToChinaString(DateTimeOffset.UtcNow),
            ["notify_type"] = "trade_status_sync",
            ["notify_id"] = "ac05099524730693a8b330c5ecf72da9786",
            ["app_id"] = AppId,
            ["charset"] = "utf-8",
            ["version"] = "1.0",
            ["trade_no"] = "2024051322001",
            ["out_trade_no"] = "T1",
            ["trade_status"] = "TRADE_SUCCESS",
            ["total_amount"] = AlipayAmount.FormatYuan(1230),
            ["subject"] = ChineseSubject,
            ["gmt_payment"] = AlipayTime.ToChinaString(DateTimeOffset.UtcNow),
        }, TestKeys.Platform);

        var request = new
        {
            appId = AppId,
            method = Method,
            bizContent = new Dictionary<string, string>
            {
                ["out_trade_no"] = "T1",
                ["total_amount"] = "0.01",
                ["subject"] = ChineseSubject,
            },
            notifyUrl = "http://127.0.0.1:9/notify?a=b&c=d",
            // What exec() must return after camel-casing the verified response.
            expected = new Dictionary<string, string>
            {
                ["code"] = "10000",
                ["msg"] = "Success",
                ["outTradeNo"] = "T1",
                ["qrCode"] = "https://qr.qianbao.test/bax08123",
                ["subject"] = ChineseSubject,
            },
        };

        await Write("app-private-key.txt", AlipayKeys.ExportPrivateKeyPkcs1Base64(TestKeys.App));
        await Write("app-private-key-pkcs8.pem", TestKeys.App.ExportPkcs8PrivateKeyPem());
        await Write("platform-public-key.txt", AlipayKeys.ExportPublicKeyBase64(TestKeys.Platform));
        await Write("request.json", JsonSerializer.Serialize(request));
        await File.WriteAllBytesAsync(Path.Combine(_directory, "response-success.json"), success);
        await File.WriteAllBytesAsync(Path.Combine(_directory, "response-error.json"), error);
        await Write("notification.txt", notification.FormBody);

        Task Write(string name, string text) =>
            File.WriteAllTextAsync(Path.Combine(_directory, name), text, new UTF8Encoding(false));
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Qianbao.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Qianbao.slnx not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Runs a process to completion within a bound; kills it (and its children) on timeout.</summary>
    private static async Task<(int ExitCode, string Output)> RunAsync(string fileName, IEnumerable<string> arguments,
        TimeSpan timeout)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start " + fileName);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} did not finish within {timeout}.");
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
