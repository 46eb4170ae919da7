using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using ZXing;
using ZXing.Common;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary>
/// Pictures of codes, in and out. In: the text of the QR code in an uploaded photo (input handling: the console turns
/// the picture into the text the API takes), decoded with ZXing from the photo's grey levels read by ImageSharp. Out:
/// the payment code as a Code 128 barcode above a QR code in one PNG, so one refresh shows one code in both forms.
/// </summary>
internal static class QrImages
{
    /// <summary>The largest upload read (a phone photo is a few MB).</summary>
    public const long UploadBytesMax = 8 * 1024 * 1024;

    /// <summary>The most pixels decoded (a 48-megapixel photo); larger pictures are refused before they are decoded.</summary>
    private const long PixelsMax = 48_000_000;

    /// <summary>The QR code's text, or null when the picture is not an image we read or holds no QR code.</summary>
    public static string? Decode(Stream picture)
    {
        using var copy = new MemoryStream();
        picture.CopyTo(copy);
        copy.Position = 0;
        try
        {
            // Size first, from the header alone: a crafted picture cannot make us allocate a huge bitmap.
            var info = Image.Identify(copy);
            if (info is null || (long)info.Width * info.Height > PixelsMax) return null;
            copy.Position = 0;
            using var image = Image.Load<L8>(copy);
            var (width, height) = (image.Width, image.Height);
            var grey = new byte[width * height];
            image.ProcessPixelRows(rows =>
            {
                for (var y = 0; y < rows.Height; y++)
                {
                    var row = rows.GetRowSpan(y);
                    for (var x = 0; x < row.Length; x++) grey[y * width + x] = row[x].PackedValue;
                }
            });
            var reader = new BarcodeReaderGeneric
            {
                AutoRotate = true,
                Options = new DecodingOptions { PossibleFormats = [BarcodeFormat.QR_CODE], TryHarder = true, CharacterSet = "UTF-8" },
            };
            return reader.Decode(new RGBLuminanceSource(grey, width, height, RGBLuminanceSource.BitmapFormat.Gray8))?.Text;
        }
        catch (Exception e) when (e is ImageFormatException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>A PNG of <paramref name="text"/> as a Code 128 barcode above a QR code (black on white, with quiet zones).</summary>
    public static byte[] PaymentCodePng(string text)
    {
        var writer = new MultiFormatWriter();
        var bars = writer.encode(text, BarcodeFormat.CODE_128, 0, 0);
        var qr = writer.encode(text, BarcodeFormat.QR_CODE, 0, 0, new Dictionary<EncodeHintType, object> { [EncodeHintType.MARGIN] = 2 });
        const int barModule = 2;
        const int barHeight = 90;
        const int qrModule = 7;
        const int gap = 24;
        var width = Math.Max((bars.Width + 20) * barModule, qr.Width * qrModule) + 2 * gap;
        var height = gap + barHeight + gap + qr.Height * qrModule + gap;
        using var image = new Image<L8>(width, height, new L8(255));
        var barLeft = (width - bars.Width * barModule) / 2;
        var qrLeft = (width - qr.Width * qrModule) / 2;
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < row.Length; x++)
                {
                    var black = false;
                    if (y >= gap && y < gap + barHeight && x >= barLeft && x < barLeft + bars.Width * barModule)
                        black = bars[(x - barLeft) / barModule, 0];
                    var qrTop = gap + barHeight + gap;
                    if (y >= qrTop && y < qrTop + qr.Height * qrModule && x >= qrLeft && x < qrLeft + qr.Width * qrModule)
                        black = qr[(x - qrLeft) / qrModule, (y - qrTop) / qrModule];
                    if (black) row[x] = new L8(0);
                }
            }
        });
        using var png = new MemoryStream();
        image.SaveAsPng(png);
        return png.ToArray();
    }
}
