/// The Python-UNO program that keeps one soffice warm for `LibreOfficeDriver`.
///
/// It runs under the system Python (Debian `python3-uno`), starts soffice with
/// a private profile and a named pipe, and converts one file per JSON request
/// line on its standard input, answering one JSON line each. It puts itself in
/// its own process group (soffice joins it), so that the whole group is killed
/// on a time limit; it kills soffice and exits when its parent dies, and
/// restarts soffice when it died between files.
enum LibreOfficeDriverScript {
  static let source = #"""
    # longctx's LibreOffice driver: keeps one soffice warm and converts files
    # through Python-UNO. Requests and answers are JSON lines on stdin/stdout.
    # Arguments: SOFFICE PROFILE_URL PIPE_NAME
    import json, os, re, subprocess, sys, threading, time

    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    out = sys.stdout
    sys.stdout = sys.stderr


    def say(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()


    try:
        import uno
        from com.sun.star.beans import PropertyValue
    except Exception as e:
        say({"ready": False, "error": "Python-UNO does not import (%s)" % e})
        sys.exit(3)

    SOFFICE, PROFILE, PIPE = sys.argv[1], sys.argv[2], sys.argv[3]
    PARENT = os.getppid()
    CONNECT = "uno:pipe,name=%s;urp;StarOffice.ComponentContext" % PIPE
    office = None
    ctx = None
    converted = 0


    def kill_office():
        global office, ctx
        if office is not None:
            try:
                office.kill()
                office.wait(5)
            except Exception:
                pass
        office = None
        ctx = None


    def watch_parent():
        # The worker that started us died (killed on a time limit, crashed): take soffice along.
        while True:
            time.sleep(0.5)
            if os.getppid() != PARENT:
                kill_office()
                os.killpg(0, 9)
                os._exit(1)


    threading.Thread(target=watch_parent, daemon=True).start()


    def prop(name, value):
        p = PropertyValue()
        p.Name = name
        p.Value = value
        return p


    def props(**kw):
        return tuple(prop(k, v) for k, v in kw.items())


    def start_office():
        global office, ctx, converted
        kill_office()
        office = subprocess.Popen(
            [SOFFICE, "-env:UserInstallation=" + PROFILE, "--headless", "--invisible", "--nologo", "--norestore",
             "--nodefault", "--nolockcheck", "--accept=pipe,name=%s;urp;StarOffice.ComponentContext" % PIPE],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.time() + 90
        while True:
            try:
                ctx = resolver.resolve(CONNECT)
                break
            except Exception:
                if office.poll() is not None:
                    raise RuntimeError("soffice exited with status %d as it started" % office.returncode)
                if time.time() > deadline:
                    raise RuntimeError("soffice did not answer within 90 s of starting")
                time.sleep(0.05)
        converted = 0


    def service(name):
        return ctx.ServiceManager.createInstanceWithContext(name, ctx)


    FAMILIES = {
        "com.sun.star.text.TextDocument": "text", "com.sun.star.text.GlobalDocument": "text",
        "com.sun.star.text.WebDocument": "text", "com.sun.star.sheet.SpreadsheetDocument": "sheet",
        "com.sun.star.presentation.PresentationDocument": "slides", "com.sun.star.drawing.DrawingDocument": "drawing",
    }
    OOXML = {"text": ("docx", "MS Word 2007 XML"), "sheet": ("xlsx", "Calc MS Excel 2007 XML"),
             "slides": ("pptx", "Impress MS PowerPoint 2007 XML")}
    PDF = {"text": "writer_pdf_Export", "sheet": "calc_pdf_Export", "slides": "impress_pdf_Export",
           "drawing": "draw_pdf_Export"}
    # LibreOffice's error codes for a file that needs a (different) password:
    # ERRCODE_SFX_WRONGPASSWD (ODF) and ERRCODE_SVX_WRONGPASS (Word, Excel, PowerPoint).
    PASSWORD_CODES = {0x4B0B, 0x1000F}


    class LoadError(Exception):
        def __init__(self, code, detail):
            self.code = code
            self.detail = detail


    def detect(url):
        detection = service("com.sun.star.document.TypeDetection")
        kind, descriptor = detection.queryTypeByDescriptor((prop("URL", url),), True)
        if not kind:
            raise LoadError(None, "LibreOffice does not recognise its format")
        name = [p.Value for p in descriptor if p.Name == "FilterName"]
        name = name[0] if name else ""
        if not name:
            name = [p.Value for p in detection.getByName(kind) if p.Name == "PreferredFilter"]
            name = name[0] if name else ""
        if not name:
            raise LoadError(None, "LibreOffice has no import filter for its format (%s)" % kind)
        filters = service("com.sun.star.document.FilterFactory")
        document = [p.Value for p in filters.getByName(name) if p.Name == "DocumentService"]
        if not document or document[0] not in FAMILIES:
            raise LoadError(None, "it is not a text document, spreadsheet, presentation or drawing (%s)" % kind)
        return name, document[0]


    def load(url, name, document, password):
        # A model without a frame or view: a hidden view crashed soffice 7.4 on some
        # Writer files (InterimItemWindow), and nothing here needs one.
        model = service(document)
        args = [prop("URL", url), prop("FilterName", name), prop("ReadOnly", True), prop("Hidden", True),
                prop("UpdateDocMode", 0), prop("MacroExecutionMode", 0)]
        if password is not None:
            args.append(prop("Password", password))
        try:
            model.load(tuple(args))
        except Exception as e:
            try:
                model.close(True)
            except Exception:
                pass
            m = re.search(r"0x(?:0x)?([0-9a-fA-F]+)", str(e))
            code = int(m.group(1), 16) if m else None
            detail = "it is damaged or in a format LibreOffice does not read"
            raise LoadError(code, detail + (" (LibreOffice error 0x%X)" % code if code is not None else ""))
        return model


    def iso(d):
        if d is None or d.Year == 0:
            return None
        # Word and Excel keep local times without a zone; only a time marked UTC gets its Z.
        stamp = "%04d-%02d-%02dT%02d:%02d:%02d" % (d.Year, d.Month, d.Day, d.Hours, d.Minutes, d.Seconds)
        return stamp + ("Z" if getattr(d, "IsUTC", False) else "")


    def metadata(doc):
        m = {}
        try:
            p = doc.getDocumentProperties()
            for key, value in (("author", p.Author), ("lastModifiedBy", p.ModifiedBy), ("title", p.Title),
                               ("subject", p.Subject), ("application", p.Generator), ("created", iso(p.CreationDate)),
                               ("modified", iso(p.ModificationDate)), ("lastPrinted", iso(p.PrintDate))):
                if value:
                    m[key] = value
            if p.EditingCycles:
                m["revision"] = str(p.EditingCycles)
            user = p.getUserDefinedProperties()
            if user.getPropertySetInfo().hasPropertyByName("Company"):
                m["company"] = str(user.getPropertyValue("Company"))
        except Exception:
            pass
        return m


    def store(doc, path, **kw):
        doc.storeToURL(uno.systemPathToFileUrl(path), props(Overwrite=True, **kw))


    def writer_view(doc):
        # Writer lays pages out for a PDF only in a view. A view of a document
        # with comments crashed soffice 7.4 from the nogui packages (their comment
        # window's .ui file is not installed), so comments go first: a production
        # image shows the document as printed, and Word prints without them.
        fields = doc.getTextFields().createEnumeration()
        comments = []
        while fields.hasMoreElements():
            field = fields.nextElement()
            if field.supportsService("com.sun.star.text.textfield.Annotation"):
                comments.append(field)
        for field in comments:
            field.dispose()
        desktop = service("com.sun.star.frame.Desktop")
        desktop.loadComponentFromURL("private:object", "_blank", 0, props(Model=doc, Hidden=True))


    def notes(doc):
        result = []
        pages = doc.getDrawPages()
        for i in range(pages.getCount()):
            texts = []
            try:
                page = pages.getByIndex(i).getNotesPage()
                for j in range(page.getCount()):
                    shape = page.getByIndex(j)
                    if shape.getShapeType() == "com.sun.star.presentation.NotesShape":
                        s = shape.getString().strip()
                        if s:
                            texts.append(s)
            except Exception:
                pass
            result.append("\n".join(texts))
        return result


    def convert(req):
        url = uno.systemPathToFileUrl(os.path.abspath(req["input"]))
        try:
            name, document = detect(url)
        except LoadError as e:
            return {"ok": False, "reason": "unreadable", "detail": e.detail}
        passwords = req.get("passwords") or []
        doc = None
        tried = False
        for password in [None] + passwords:
            try:
                doc = load(url, name, document, password)
                break
            except LoadError as e:
                if e.code not in PASSWORD_CODES:
                    return {"ok": False, "reason": "unreadable", "detail": e.detail, "code": e.code}
                tried = password is not None
        if doc is None:
            return {"ok": False, "reason": "wrong-password" if tried else "encrypted"}
        try:
            family = FAMILIES[document]
            reply = {"ok": True, "family": family, "filter": name, "metadata": metadata(doc), "files": [],
                     "password": password is not None}
            base = os.path.join(req["outdir"], "converted")
            for want in req["exports"]:
                if want == "ooxml" and family in OOXML:
                    ext, flt = OOXML[family]
                    store(doc, base + "." + ext, FilterName=flt)
                    reply["files"].append({"path": base + "." + ext, "format": ext})
                elif want == "pdf" or (want == "plain" and family in ("slides", "drawing")):
                    if family == "text":
                        writer_view(doc)
                    data = uno.Any("[]com.sun.star.beans.PropertyValue", props(ExportHiddenSlides=True))
                    store(doc, base + ".pdf", FilterName=PDF[family], FilterData=data)
                    reply["files"].append({"path": base + ".pdf", "format": "pdf"})
                    if want == "plain" and family == "slides":
                        reply["notes"] = notes(doc)
                elif want == "plain" and family == "text":
                    store(doc, base + ".txt", FilterName="Text (encoded)", FilterOptions="UTF8,LF,,,")
                    reply["files"].append({"path": base + ".txt", "format": "txt"})
                elif want == "plain" and family == "sheet":
                    sheets = doc.getSheets()
                    for i in range(sheets.getCount()):
                        # LibreOffice names the file after the sheet: one folder per sheet finds it.
                        folder = "%s-sheet%d" % (base, i + 1)
                        os.makedirs(folder, exist_ok=True)
                        # Tab-separated, '"'-quoted, UTF-8, values as shown, sheet i only.
                        store(doc, os.path.join(folder, "sheet.csv"), FilterName="Text - txt - csv (StarCalc)",
                              FilterOptions="9,34,76,1,,0,false,true,false,false,false,%d" % (i + 1))
                        written = sorted(os.listdir(folder))
                        if written:
                            reply["files"].append({"path": os.path.join(folder, written[0]), "format": "csv",
                                                   "sheet": sheets.getByIndex(i).getName()})
            return reply
        finally:
            try:
                controller = doc.getCurrentController()
                if controller is not None:
                    controller.getFrame().close(True)
            except Exception:
                pass
            try:
                doc.close(True)
            except Exception:
                try:
                    doc.dispose()
                except Exception:
                    pass


    def main():
        global converted
        try:
            start_office()
            version = ""
            try:
                provider = service("com.sun.star.configuration.ConfigurationProvider")
                node = provider.createInstanceWithArguments(
                    "com.sun.star.configuration.ConfigurationAccess", (prop("nodepath", "/org.openoffice.Setup/Product"),))
                version = "%s %s" % (node.getByName("ooName"), node.getByName("ooSetupVersionAboutBox"))
            except Exception:
                pass
        except Exception as e:
            say({"ready": False, "error": str(e)})
            kill_office()
            return
        say({"ready": True, "version": version})
        for line in sys.stdin:
            try:
                req = json.loads(line)
            except Exception:
                say({"ok": False, "reason": "unreadable", "detail": "bad request"})
                continue
            # A dead soffice (crashed between files) or one that served many files is started afresh.
            if office is None or office.poll() is not None or converted >= req.get("restartAfter", 200):
                try:
                    start_office()
                except Exception as e:
                    say({"ok": False, "reason": "unavailable", "detail": str(e)})
                    continue
            converted += 1
            try:
                say(convert(req))
            except Exception as e:
                crashed = office.poll() is not None or "Disposed" in type(e).__name__
                say({"ok": False, "reason": "crashed" if crashed else "unreadable", "detail": str(e).split(" at ./")[0]})
                if crashed:
                    kill_office()
        try:
            service("com.sun.star.frame.Desktop").terminate()
            office.wait(10)
        except Exception:
            pass
        kill_office()


    main()
    """#
}
